"""The one tree of business errors.

Every error carries a stable, machine-readable ``code``; the HTTP edge maps
the class (not the message) to a status in a single table.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"

    def __init__(self, detail: str | None = None, *, field: str | None = None) -> None:
        self.detail = detail or self.default_detail()
        self.field = field
        super().__init__(self.detail)

    @classmethod
    def default_detail(cls) -> str:
        return cls.code.replace("_", " ").capitalize() + "."


class InvalidInput(DomainError):
    """The request is well-formed but breaks a business rule (HTTP 422)."""

    code = "invalid_input"


class BadRequest(DomainError):
    """The request refers to something unusable, such as a dead token (HTTP 400)."""

    code = "bad_request"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Forbidden(DomainError):
    code = "forbidden"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class TooManyRequests(DomainError):
    code = "too_many_requests"

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class QuotaExceeded(DomainError):
    code = "quota_exceeded"


class StorageUnavailable(DomainError):
    """A backing service (database, cache) failed; the caller may retry (HTTP 503)."""

    code = "storage_unavailable"
