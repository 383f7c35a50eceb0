"""The gateway's three dialects over one set of use cases: the native API
(``/api/v1/llm/chat``, problem+json errors), OpenAI's (``/v1/chat/completions``,
``/v1/embeddings``, ``/v1/models``) and Anthropic's (``/v1/messages``), each of
the last two answering errors in its own shape so the official SDKs raise
their usual exceptions.

Compatible bodies are read as bytes and decoded once with msgspec; responses
are encoded straight to bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import JSONBody
from litestar.response import Stream
from litestar.types import ExceptionHandlersMap

from adapters.postgres.engine import RequestConnection
from application.common.tenancy import WorkspaceActor
from application.llm.accounting import CallOrigin
from application.llm.complete_chat import CompleteChat
from application.llm.create_embeddings import CreateEmbeddings
from application.llm.stream_chat import StreamChat
from application.queries.llm.list_models import ListModels
from application.queries.llm.list_providers import ListProviders
from domain.common.errors import BadRequest, DomainError, NotFound
from domain.tenancy.roles import Permission
from entrypoints.http.errors import ClientClosedRequest
from entrypoints.http.llm import sse, wire_anthropic, wire_native, wire_openai
from entrypoints.http.llm.schemas import ModelOut, ProviderOut, model_out, provider_out

T = TypeVar("T")
OVERHEAD_HEADER = "X-Gateway-Overhead-Ms"
JSON = "application/json"
Dialect = Callable[[BaseException], tuple[int, bytes, dict[str, str]]]

log = structlog.get_logger(__name__)


def gateway_route(permission: Permission = Permission.LLM_USE) -> dict[str, str]:
    return {"security": "workspace", "permission": permission.value}


def origin_of(request: Request[Any, Any, Any]) -> CallOrigin:
    return CallOrigin(request_id=request.scope.get("state", {}).get("request_id"))


def overhead_ms(request: Request[Any, Any, Any], upstream_seconds: float) -> str:
    """Time this request spent in this process, the provider's time taken out."""
    started = request.scope.get("state", {}).get("started", time.perf_counter())
    return f"{max(0.0, (time.perf_counter() - started - upstream_seconds) * 1000):.2f}"


async def unless_disconnected(request: Request[Any, Any, Any], work: Awaitable[T]) -> T:
    """Run ``work``, cancelling it — and with it the upstream call — when the
    client goes away first (the body is already read, so the next ASGI message
    can only be the disconnect)."""
    task = asyncio.ensure_future(work)

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    watcher = asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        raise ClientClosedRequest  # answered with 499, which nobody reads
    return task.result()


def dialect_errors(encode: Dialect) -> ExceptionHandlersMap:
    """Every error of a compatible route in that API's own shape."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        error: BaseException = exc
        if isinstance(exc, HTTPException) and not isinstance(exc, DomainError):
            error = (
                NotFound(str(exc.detail))
                if exc.status_code in (404, 405)
                else BadRequest(str(exc.detail))
                if exc.status_code < 500
                else exc
            )
        elif not isinstance(exc, DomainError):
            log.exception("request.unhandled_error", error=type(exc).__name__)
        status, body, headers = encode(error)
        if isinstance(exc, HTTPException) and exc.status_code == 413:
            status = 413
        return Response(body, status_code=status, media_type=JSON, headers=headers)

    # The same keys as the app's table, so these win over it on these routes.
    return {DomainError: handle, HTTPException: handle, Exception: handle}


def event_stream(
    request: Request[Any, Any, Any], frames: Any, upstream_first_chunk_seconds: float
) -> Stream:
    return Stream(
        frames,
        media_type=sse.CONTENT_TYPE,
        headers={
            **sse.HEADERS,
            OVERHEAD_HEADER: overhead_ms(request, upstream_first_chunk_seconds),
        },
    )


class NativeGatewayController(Controller):
    path = "/api/v1/llm"
    tags = ["llm"]

    @post(
        "/chat",
        opt=gateway_route(),
        status_code=200,
        summary="Chat with any model or route; stream=true answers with Server-Sent Events "
        "(chunk, usage, done, error)",
    )
    async def chat(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[wire_native.ChatIn],
        actor: FromDishka[WorkspaceActor],
        complete: FromDishka[CompleteChat],
        stream: FromDishka[StreamChat],
        database: FromDishka[RequestConnection],
    ) -> Response[bytes] | Stream:
        call = wire_native.to_domain(data)
        await database.release()  # the call needs none, and a stream may be long
        if call.stream:
            opened = await unless_disconnected(
                request, stream.execute(actor, call, origin_of(request))
            )
            return event_stream(
                request, wire_native.stream_events(opened), opened.upstream_first_chunk_seconds
            )
        result = await unless_disconnected(
            request, complete.execute(actor, call, origin_of(request))
        )
        return Response(
            wire_native.encode_result(result),
            media_type=JSON,
            headers={OVERHEAD_HEADER: overhead_ms(request, result.upstream_seconds)},
        )

    @get("/models", opt=gateway_route(), summary="Models and routes this workspace can call")
    async def models(
        self, actor: FromDishka[WorkspaceActor], models: FromDishka[ListModels]
    ) -> list[ModelOut]:
        return [model_out(view) for view in await models.execute(actor)]

    @get("/providers", opt=gateway_route(), summary="Configured providers and their health")
    async def providers(
        self, actor: FromDishka[WorkspaceActor], providers: FromDishka[ListProviders]
    ) -> list[ProviderOut]:
        return [provider_out(view) for view in await providers.execute(actor)]


class OpenAIController(Controller):
    path = "/v1"
    tags = ["openai-compatible"]
    exception_handlers = dialect_errors(wire_openai.openai_error_for)

    @post(
        "/chat/completions",
        opt=gateway_route(),
        status_code=200,
        summary="OpenAI-compatible chat completions",
    )
    async def chat_completions(
        self,
        request: Request[Any, Any, Any],
        actor: FromDishka[WorkspaceActor],
        complete: FromDishka[CompleteChat],
        stream: FromDishka[StreamChat],
        database: FromDishka[RequestConnection],
    ) -> Response[bytes] | Stream:
        call, options = wire_openai.decode_chat(await request.body())
        created = int(time.time())
        await database.release()  # the call needs none, and a stream may be long
        if call.stream:
            opened = await unless_disconnected(
                request, stream.execute(actor, call, origin_of(request))
            )
            encoder = wire_openai.OpenAIStreamEncoder(
                model=call.model, created=created, include_usage=options.include_usage
            )
            return event_stream(
                request, encoder.frames(opened), opened.upstream_first_chunk_seconds
            )
        result = await unless_disconnected(
            request, complete.execute(actor, call, origin_of(request))
        )
        return Response(
            wire_openai.encode_chat(result.response, request_model=call.model, created=created),
            media_type=JSON,
            headers={OVERHEAD_HEADER: overhead_ms(request, result.upstream_seconds)},
        )

    @post(
        "/embeddings", opt=gateway_route(), status_code=200, summary="OpenAI-compatible embeddings"
    )
    async def embeddings(
        self,
        request: Request[Any, Any, Any],
        actor: FromDishka[WorkspaceActor],
        embed: FromDishka[CreateEmbeddings],
        database: FromDishka[RequestConnection],
    ) -> Response[bytes]:
        call, encoding = wire_openai.decode_embeddings(await request.body())
        await database.release()
        result = await unless_disconnected(request, embed.execute(actor, call, origin_of(request)))
        return Response(
            wire_openai.encode_embeddings(
                result.response, request_model=call.model, encoding_format=encoding
            ),
            media_type=JSON,
            headers={OVERHEAD_HEADER: overhead_ms(request, result.upstream_seconds)},
        )

    @get("/models", opt=gateway_route(), summary="OpenAI-compatible list of models")
    async def models(
        self,
        request: Request[Any, Any, Any],
        actor: FromDishka[WorkspaceActor],
        models: FromDishka[ListModels],
    ) -> Response[bytes]:
        listed = await models.execute(actor)
        return Response(
            wire_openai.encode_models([m.id for m in listed], created=0, owned_by="synapscale"),
            media_type=JSON,
            headers={OVERHEAD_HEADER: overhead_ms(request, 0.0)},
        )


class AnthropicController(Controller):
    path = "/v1"
    tags = ["anthropic-compatible"]
    exception_handlers = dialect_errors(wire_anthropic.anthropic_error_for)

    @post(
        "/messages", opt=gateway_route(), status_code=200, summary="Anthropic-compatible messages"
    )
    async def messages(
        self,
        request: Request[Any, Any, Any],
        actor: FromDishka[WorkspaceActor],
        complete: FromDishka[CompleteChat],
        stream: FromDishka[StreamChat],
        database: FromDishka[RequestConnection],
    ) -> Response[bytes] | Stream:
        call = wire_anthropic.decode_messages(await request.body())
        await database.release()  # the call needs none, and a stream may be long
        if call.stream:
            opened = await unless_disconnected(
                request, stream.execute(actor, call, origin_of(request))
            )
            encoder = wire_anthropic.AnthropicStreamEncoder(model=call.model)
            return event_stream(
                request, encoder.frames(opened), opened.upstream_first_chunk_seconds
            )
        result = await unless_disconnected(
            request, complete.execute(actor, call, origin_of(request))
        )
        return Response(
            wire_anthropic.encode_message(result.response, request_model=call.model),
            media_type=JSON,
            headers={OVERHEAD_HEADER: overhead_ms(request, result.upstream_seconds)},
        )
