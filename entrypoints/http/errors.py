"""The one place errors become HTTP: RFC 9457 problem+json with a stable ``code``."""

from __future__ import annotations

import math
import re
from http import HTTPStatus
from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from domain.common.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    StorageUnavailable,
    TooManyRequests,
    Unauthenticated,
)
from domain.files.errors import InvalidSignature, UnsupportedFileType
from domain.identity.api_key import RateLimited
from domain.llm.errors import (
    BudgetExceeded,
    CircuitOpen,
    ContextTooLong,
    ProviderBadRequest,
    ProviderError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderTimeout,
)

PROBLEM_JSON = "application/problem+json"


class ClientClosedRequest(DomainError):
    """The client left before the answer (nginx's 499); only the access log sees it."""

    code = "client_closed_request"


# Domain error class -> HTTP status. The most specific class in the error's MRO wins.
ERROR_STATUSES: dict[type[DomainError], int] = {
    UnsupportedFileType: 415,
    InvalidSignature: 403,
    InvalidInput: 422,
    BadRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    QuotaExceeded: 413,
    TooManyRequests: 429,
    StorageUnavailable: 503,
    # The LLM gateway. A provider refusing *our* key is the gateway's problem,
    # not the caller's credentials: 502, as a 401 would make SDKs blame the user's key.
    BudgetExceeded: 402,  # not 429: SDKs retry a 429, and a spent budget stays spent
    ProviderRateLimited: 429,
    ProviderOverloaded: 503,
    CircuitOpen: 503,
    ProviderTimeout: 504,
    ContextTooLong: 400,
    ProviderBadRequest: 400,
    ProviderError: 502,
    ClientClosedRequest: 499,
}

log = structlog.get_logger(__name__)


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    request: Request[Any, Any, Any] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"urn:synapscale:problem:{code}",
        "title": _phrase(status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # 499, which http.HTTPStatus does not know
        return "Client Closed Request"


def rate_limit_headers(limit: int, remaining: int, reset_seconds: float) -> dict[str, str]:
    """IETF draft-ietf-httpapi-ratelimit-headers: limit, what is left, seconds to reset."""
    return {
        "RateLimit-Limit": str(limit),
        "RateLimit-Remaining": str(remaining),
        "RateLimit-Reset": str(max(0, math.ceil(reset_seconds))),
        "RateLimit-Policy": f"{limit};w=60",
    }


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in ERROR_STATUSES:
            return ERROR_STATUSES[cls]
    return 500


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, RateLimited):
        headers.update(rate_limit_headers(exc.limit, 0, exc.retry_after))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    errors = [{"field": exc.field, "message": exc.detail}] if exc.field else None
    if status >= 500:
        log.error("request.failed", error=type(exc).__name__, cause=repr(exc.__cause__)[:200])
    return problem(status, exc.code, exc.detail, errors=errors, headers=headers, request=request)


_AT = re.compile(r" - at `\$(?:\.data)?\.?(?P<path>[^`]*)`$")
_NAMED = re.compile(r"(?:unknown|missing required) field `(?P<name>[^`]+)`")


def _field_errors(exc: ValidationException) -> list[dict[str, str]]:
    found = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "Invalid value."))
        field = str(item.get("key", ""))
        match = _AT.search(message)
        if match:
            message = message[: match.start()]
            field = match["path"] or field
        field = field.removeprefix("data").lstrip(".")
        if field == "body":
            field = ""
        named = _NAMED.search(message)
        if named:  # msgspec names the offending field in the message, not the path
            field = f"{field}.{named['name']}" if field else named["name"]
        field = field or "body"
        if message in {"'data'", '"data"'}:  # Litestar's word for a missing body
            message = "A JSON request body is required."
        found.append(
            {"field": field, "message": message, "source": str(item.get("source", "body"))}
        )
    return found


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc, ValidationException):
        errors = _field_errors(exc)
        if errors:
            return problem(
                422,
                "validation_error",
                "The request is not valid; see errors.",
                errors=errors,
                request=request,
            )
        return problem(400, "malformed_request", str(exc.detail), request=request)
    if exc.status_code == 400:
        return problem(400, "malformed_request", str(exc.detail), request=request)
    status = exc.status_code
    code = {
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_"))
    detail = str(exc.detail) if status < 500 else "An internal error occurred."
    headers = dict(exc.headers or {})
    return problem(status, code, detail, headers=headers, request=request)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("request.unhandled_error", error=type(exc).__name__)
    return problem(500, "internal_error", "An internal error occurred.", request=request)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "problem"]
