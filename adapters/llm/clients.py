"""The HTTP clients the adapters call through, and what their failures mean.

One pooled HTTP client per protocol per process (the SDKs' aiohttp or httpx
transport, chosen by the operator), shared by every SDK client object. SDK
clients are cheap wrappers holding a base URL and a key; they are kept per
(base URL, key) in a small LRU so a credential's client is built once. Evicted
ones are simply dropped: they own nothing, the pool is shared.

The ``direct`` transport skips the SDK for the OpenAI protocol's chat and
embeddings calls: the adapter's JSON body is encoded with msgspec and POSTed
through one pooled ``aiohttp.ClientSession`` (``post``). Everything else (the
OpenAI ping, all of Anthropic) still goes through the SDKs, over aiohttp.

Built at APP scope; ``aclose()`` closes every pool.

The SDKs (and httpx2 under them) are imported on first use: with the
``direct`` transport and no Anthropic model called, a process never loads
them, which is about 50 MB of its memory.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import sys
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import msgspec

from adapters.llm import wire

if TYPE_CHECKING:
    import anthropic
    import httpx2
    import openai
from domain.llm.errors import (
    ContextTooLong,
    ProviderAuthenticationFailed,
    ProviderBadRequest,
    ProviderError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)

Transport = Literal["aiohttp", "httpx", "direct"]
TRANSPORTS: tuple[Transport, ...] = ("aiohttp", "httpx", "direct")

MAX_CONNECTIONS = 1000
MAX_KEEPALIVE = 256
KEEPALIVE_SECONDS = 30.0
MESSAGE_LIMIT = 300


class LlmClients:
    """Pooled HTTP clients and cached SDK clients for both protocols."""

    def __init__(self, *, transport: Transport = "aiohttp", max_sdk_clients: int = 256) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"Unknown LLM HTTP transport {transport!r}.")
        self.transport: Transport = transport
        self.direct = transport == "direct"
        self._session: aiohttp.ClientSession | None = None
        self._client_timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._max = max_sdk_clients
        self._openai_http: httpx2.AsyncClient | None = None
        self._anthropic_http: httpx2.AsyncClient | None = None
        self._openai: OrderedDict[tuple[str, str], openai.AsyncOpenAI] = OrderedDict()
        self._anthropic: OrderedDict[tuple[str, str], anthropic.AsyncAnthropic] = OrderedDict()
        self._timeouts: dict[float, httpx2.Timeout] = {}

    def __repr__(self) -> str:  # never the cached keys
        return (
            f"LlmClients(transport={self.transport!r}, openai={len(self._openai)}, "
            f"anthropic={len(self._anthropic)})"
        )

    def _pool(self, sdk: Literal["openai", "anthropic"]) -> httpx2.AsyncClient:
        import anthropic
        import openai

        if sdk == "openai":
            if self._openai_http is None:
                self._openai_http = _new_pool(
                    openai.DefaultAsyncHttpxClient
                    if self.transport == "httpx"
                    else openai.DefaultAioHttpClient
                )
            return self._openai_http
        if self._anthropic_http is None:
            self._anthropic_http = _new_pool(
                anthropic.DefaultAsyncHttpxClient
                if self.transport == "httpx"
                else anthropic.DefaultAioHttpClient
            )
        return self._anthropic_http

    def timeout(self, seconds: float) -> httpx2.Timeout:
        """Connect, pool wait, write and each read bounded by ``seconds``."""
        found = self._timeouts.get(seconds)
        if found is None:
            import httpx2

            if len(self._timeouts) > 64:
                self._timeouts.clear()
            found = self._timeouts[seconds] = httpx2.Timeout(seconds)
        return found

    def openai(self, base_url: str, api_key: str) -> openai.AsyncOpenAI:
        key = (base_url, api_key)
        client = self._openai.get(key)
        if client is not None:
            self._openai.move_to_end(key)
            return client
        import openai

        client = openai.AsyncOpenAI(
            api_key=api_key or "none",
            base_url=base_url,
            max_retries=0,
            http_client=self._pool("openai"),
        )
        self._openai[key] = client
        if len(self._openai) > self._max:
            self._openai.popitem(last=False)
        return client

    def anthropic(self, base_url: str, api_key: str) -> anthropic.AsyncAnthropic:
        base_url = anthropic_base_url(base_url)
        key = (base_url, api_key)
        client = self._anthropic.get(key)
        if client is not None:
            self._anthropic.move_to_end(key)
            return client
        import anthropic

        client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            http_client=self._pool("anthropic"),
        )
        self._anthropic[key] = client
        if len(self._anthropic) > self._max:
            self._anthropic.popitem(last=False)
        return client

    # -- the direct transport ---------------------------------------------------------

    def session(self) -> aiohttp.ClientSession:
        """The one pooled aiohttp session of the direct transport, made on first use."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_SECONDS
                ),
                # One session serves every tenant's credential: never replay a cookie.
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None, connect=5.0, sock_read=60.0),
                raise_for_status=False,
            )
        return self._session

    def client_timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        """Pool wait plus connect, then every wait for bytes (the first byte of the
        answer, each later chunk), bounded by ``seconds``: the SDK timeout's meaning."""
        found = self._client_timeouts.get(seconds)
        if found is None:
            if len(self._client_timeouts) > 64:
                self._client_timeouts.clear()
            found = self._client_timeouts[seconds] = aiohttp.ClientTimeout(
                total=None, connect=seconds, sock_read=seconds
            )
        return found

    async def post(
        self, url: str, api_key: str, body: Mapping[str, Any], *, time_limit: float
    ) -> aiohttp.ClientResponse:
        """POST ``body`` as JSON with the key as a bearer token. A 2xx response is
        returned unread (the caller reads and releases it); anything else, or a
        failure to get an answer, is raised as our error."""
        try:
            response = await self.session().post(
                url,
                data=encode_json(body),
                headers={
                    "Authorization": f"Bearer {api_key}",
                    "Content-Type": "application/json",
                },
                timeout=self.client_timeout(time_limit),
                allow_redirects=False,
            )
            if 200 <= response.status < 300:
                return response
            try:
                content = await response.read()
            finally:
                response.release()
        except failures() as exc:
            raise error_from_exception(exc, api_key, time_limit) from None
        raise error_from_response(response.status, response.headers, content, api_key)

    async def post_json(
        self, url: str, api_key: str, body: Mapping[str, Any], *, time_limit: float
    ) -> bytes:
        """The bytes of a 2xx answer to ``post``."""
        response = await self.post(url, api_key, body, time_limit=time_limit)
        try:
            return await response.read()
        except failures() as exc:
            raise error_from_exception(exc, api_key, time_limit) from None
        finally:
            response.release()

    async def aclose(self) -> None:
        self._openai.clear()
        self._anthropic.clear()
        pools = [p for p in (self._openai_http, self._anthropic_http) if p is not None]
        self._openai_http = self._anthropic_http = None
        session, self._session = self._session, None
        self._client_timeouts.clear()
        for pool in pools:
            await pool.aclose()
        if session is not None:
            await session.close()


def _encodable(value: Any) -> Any:
    """Mappings msgspec does not know (a domain ``Mapping`` field, say) as JSON objects."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-encodable")


_json_encoder = msgspec.json.Encoder(enc_hook=_encodable)
encode_json = _json_encoder.encode


def _new_pool(factory: type[httpx2.AsyncClient]) -> httpx2.AsyncClient:
    import httpx2

    return factory(
        limits=httpx2.Limits(
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_KEEPALIVE,
            keepalive_expiry=KEEPALIVE_SECONDS,
        ),
        timeout=httpx2.Timeout(60.0, connect=5.0),
        follow_redirects=False,
    )


def anthropic_base_url(base_url: str) -> str:
    """The Anthropic SDK appends ``/v1/messages``: accept a base URL given with ``/v1``."""
    base_url = base_url.rstrip("/")
    return base_url.removesuffix("/v1")


# -- failures ---------------------------------------------------------------------------

_KEYLIKE = re.compile(r"\b(sk|pk|key)-[A-Za-z0-9_\-*.]{6,}")

_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "context length",
    "context window",
    "prompt is too long",
    "too many tokens",
    "exceeds the maximum number of tokens",
    "input is too long",
)

_ERROR_TYPES: Mapping[str, type[ProviderError]] = {
    "overloaded_error": ProviderOverloaded,
    "rate_limit_error": ProviderRateLimited,
    "rate_limit_exceeded": ProviderRateLimited,
    "authentication_error": ProviderAuthenticationFailed,
    "permission_error": ProviderAuthenticationFailed,
    "invalid_request_error": ProviderBadRequest,
    "not_found_error": ProviderBadRequest,
    "request_too_large": ProviderBadRequest,
    "timeout_error": ProviderTimeout,
    "api_error": ProviderUnavailable,
    "server_error": ProviderUnavailable,
}


def clean_message(message: str, api_key: str) -> str:
    """The provider's own words, without the key (or anything key-shaped), trimmed."""
    if api_key and len(api_key) >= 4:
        message = message.replace(api_key, "[redacted]")
    message = _KEYLIKE.sub("[redacted]", message)
    message = " ".join(message.split())
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 1] + "…"
    return message


def retry_after(headers: Mapping[str, str] | httpx2.Headers) -> float | None:
    """Seconds to wait, from ``retry-after-ms``, or ``Retry-After`` as seconds or an HTTP-date."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_fields(body: bytes) -> tuple[str, str | None, str | None]:
    """(message, type, code) from an OpenAI- or Anthropic-shaped error body, or its text."""
    try:
        data = wire.any_json.decode(body)
    except msgspec.DecodeError:
        return body.decode(errors="replace"), None, None
    error = data.get("error", data) if isinstance(data, dict) else data
    if not isinstance(error, dict):
        return str(error), None, None
    message = error.get("message")
    kind = error.get("type")
    code = error.get("code")
    return (
        str(message) if message is not None else body.decode(errors="replace"),
        str(kind) if kind is not None else None,
        str(code) if code is not None else None,
    )


def error_from_response(
    status: int, headers: Mapping[str, str] | httpx2.Headers, body: bytes, api_key: str
) -> ProviderError:
    """Our error for a provider's non-2xx answer."""
    raw_message, kind, code = _error_fields(body)
    message = clean_message(raw_message, api_key) or f"HTTP {status}"
    detail = f"The provider answered {status}: {message}"
    wait = retry_after(headers)
    lowered = raw_message.lower()
    if status in (401, 403):
        return ProviderAuthenticationFailed(detail, status=status)
    if status == 429:
        return ProviderRateLimited(detail, retry_after=wait, status=status)
    if status in (503, 529) or kind == "overloaded_error":
        return ProviderOverloaded(detail, retry_after=wait, status=status)
    if status == 408:
        return ProviderTimeout(detail, status=status)
    if 400 <= status < 500:
        if code == "context_length_exceeded" or any(m in lowered for m in _CONTEXT_MARKERS):
            return ContextTooLong(detail, status=status)
        return ProviderBadRequest(detail, status=status)
    return ProviderUnavailable(detail, retry_after=wait, status=status)


def error_from_event(kind: str | None, message: str | None, api_key: str) -> ProviderError:
    """Our error for an error reported inside a 200 stream (Anthropic's ``error`` event)."""
    text = clean_message(message or "", api_key) or (kind or "unknown error")
    detail = f"The provider reported an error mid-stream: {text}"
    if any(m in (message or "").lower() for m in _CONTEXT_MARKERS):
        return ContextTooLong(detail)
    return _ERROR_TYPES.get(kind or "", ProviderUnavailable)(detail)


def error_from_exception(exc: BaseException, api_key: str, time_limit: float) -> ProviderError:
    """Our error for anything an SDK call or a stream read raised."""
    if isinstance(exc, _loaded("APIStatusError")):
        import httpx2

        response = exc.response  # type: ignore[attr-defined] # an SDK's APIStatusError
        try:
            body = response.content
        except httpx2.ResponseNotRead:
            body = b""
        return error_from_response(response.status_code, response.headers, body, api_key)
    if _is_timeout(exc):
        return ProviderTimeout(f"The provider did not answer within {time_limit:g}s.")
    return ProviderUnavailable(
        f"The connection to the provider failed ({_root(exc).__class__.__name__})."
    )


def _chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8 and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _root(exc: BaseException) -> BaseException:
    return _chain(exc)[-1]


def _is_timeout(exc: BaseException) -> bool:
    """aiohttp's own exception, when there is one, says what happened (the SDKs'
    aiohttp shim reports some dropped connections as connect timeouts)."""
    chain = _chain(exc)
    for cause in reversed(chain):
        if isinstance(cause, aiohttp.ClientError | asyncio.TimeoutError):
            return isinstance(cause, asyncio.TimeoutError)
    timeouts = (*_loaded("APITimeoutError"), *_loaded("TimeoutException", ("httpx2",)))
    return any(isinstance(cause, (asyncio.TimeoutError, *timeouts)) for cause in chain)


async def sse_data(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The payload of every ``data:`` line of a Server-Sent Events byte stream."""
    pending = b""
    async for chunk in chunks:
        if pending:
            chunk = pending + chunk
        lines = chunk.split(b"\n")
        pending = lines.pop()
        for line in lines:
            if line.startswith(b"data:"):
                yield line[5:].strip()
    if pending.startswith(b"data:"):
        yield pending[5:].strip()


_SDKS = ("openai", "anthropic")


def _loaded(name: str, modules: tuple[str, ...] = _SDKS) -> tuple[type[BaseException], ...]:
    """``name`` of each of ``modules`` already imported: an exception of a
    library that was never loaded cannot have been raised."""
    found = (getattr(sys.modules.get(module), name, None) for module in modules)
    return tuple(cls for cls in found if isinstance(cls, type))


def failures() -> tuple[type[BaseException], ...]:
    """What an SDK call or a stream read may raise for a failed upstream (the
    rest are bugs). Evaluated only when something was raised: ``except failures()``."""
    return (
        aiohttp.ClientError,
        OSError,
        asyncio.TimeoutError,
        *_loaded("OpenAIError", ("openai",)),
        *_loaded("AnthropicError", ("anthropic",)),
        *_loaded("HTTPError", ("httpx2",)),
        *_loaded("StreamError", ("httpx2",)),
    )
