"""What can go wrong in a model call, by kind, whatever the provider said."""

from __future__ import annotations

from typing import ClassVar

from domain.common.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
)


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


class InvalidCredential(InvalidInput):
    code = "invalid_credential"


class CredentialNameTaken(Conflict):
    code = "credential_name_taken"

    @classmethod
    def default_detail(cls) -> str:
        return "This workspace already has a credential with that name."


class CredentialUnreadable(DomainError):
    """A stored key that cannot be opened: its master key is gone, or the row
    was altered or copied from elsewhere. Says nothing about the secret."""

    code = "credential_unreadable"

    @classmethod
    def default_detail(cls) -> str:
        return "The stored credential cannot be decrypted; replace it with a new one."


class InvalidRoute(InvalidInput):
    code = "invalid_route"


class RouteNameTaken(Conflict):
    code = "route_name_taken"

    @classmethod
    def default_detail(cls) -> str:
        return "This workspace already has a route with that name."


class InvalidBudget(InvalidInput):
    code = "invalid_budget"


class BudgetNotFound(NotFound):
    code = "budget_not_found"

    @classmethod
    def default_detail(cls) -> str:
        return "No budget is set there."


class InvalidLimits(InvalidInput):
    code = "invalid_limits"


class LimitsNotFound(NotFound):
    code = "limits_not_found"

    @classmethod
    def default_detail(cls) -> str:
        return "No limits are set there."
