"""What can go wrong in a model call, by kind, whatever the provider said."""

from __future__ import annotations

from typing import ClassVar

from domain.common.errors import DomainError, Forbidden, InvalidInput, NotFound, TooManyRequests


class ProviderError(DomainError):
    """An upstream call failed. ``kind`` is what routes' ``fallback_on`` names."""

    code = "provider_error"
    kind: ClassVar[str] = "server_error"
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.upstream_status = status


class ProviderAuthenticationFailed(ProviderError):
    code = "provider_authentication_failed"
    kind = "authentication"


class ProviderRateLimited(ProviderError):
    code = "rate_limited"
    kind = "rate_limited"
    retryable = True


class ProviderOverloaded(ProviderError):
    code = "overloaded"
    kind = "overloaded"
    retryable = True


class ContextTooLong(ProviderError):
    code = "context_length_exceeded"
    kind = "context_too_long"


class ProviderBadRequest(ProviderError):
    code = "provider_bad_request"
    kind = "bad_request"


class ProviderTimeout(ProviderError):
    code = "timeout"
    kind = "timeout"
    retryable = True


class ProviderUnavailable(ProviderError):
    """A 5xx, a dropped connection, or a response that could not be read."""

    code = "upstream_unavailable"
    kind = "server_error"
    retryable = True


class CircuitOpen(ProviderUnavailable):
    code = "circuit_open"


FALLBACK_KINDS = ("rate_limited", "server_error", "timeout", "overloaded")
ALL_KINDS = (*FALLBACK_KINDS, "authentication", "context_too_long", "bad_request")


class ModelNotFound(NotFound):
    code = "model_not_found"


class ModelLacksCapability(InvalidInput):
    code = "model_lacks_capability"


class UnpricedModelRefused(Forbidden):
    code = "unpriced_model_refused"


class BudgetExceeded(DomainError):
    code = "budget_exceeded"


class LimitExceeded(TooManyRequests):
    """A workspace's or API key's requests/min, tokens/min or concurrency limit (HTTP 429)."""

    code = "rate_limit_exceeded"


class CredentialNotFound(NotFound):
    code = "credential_not_found"


class RouteNotFound(NotFound):
    code = "route_not_found"


class UnsafeBaseUrl(InvalidInput):
    code = "unsafe_base_url"
