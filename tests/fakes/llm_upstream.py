"""A fake LLM provider: a real HTTP server on loopback speaking OpenAI's and
Anthropic's wire formats, JSON and Server-Sent Events, with scripted faults.

Routes::

    POST /v1/chat/completions   OpenAI chat (JSON, or SSE with ``stream: true``)
    POST /v1/embeddings         OpenAI embeddings
    GET  /v1/models             model list (either SDK's ``models.list`` accepts it)
    POST /v1/messages           Anthropic messages (JSON, or its SSE event sequence)

Deterministic behaviour, so tests can assert exact values:

- The reply is ``"echo: <last user text>"`` (the text parts of the last user
  message). When the last message carries tool results (OpenAI ``role: tool``,
  Anthropic ``tool_result`` blocks) the reply is ``"echo: <tool result text>"``
  and no tool is called.
- When tools are given and the last user text contains ``"call <toolname>"``
  for one of them, the answer is a call to that tool with the arguments
  ``{"text": "<last user text>"}`` and stop reason tool_calls / tool_use
  (Anthropic: after a text block ``"calling <toolname>"``, so the tool is
  content block 1).
- JSON mode (OpenAI ``response_format`` json_object / json_schema, or an
  Anthropic system prompt that mentions JSON): the reply is the JSON text
  ``{"echo": "<last user text>"}``.
- Usage counts words: input = the words of every message and the system
  prompt, output = the words of the reply. ``max_tokens`` below the reply's
  word count cuts the reply to that many words, stop reason length / max_tokens.
- A model whose name contains ``"cached"`` reports cached tokens: OpenAI
  ``prompt_tokens_details.cached_tokens = input // 2``; Anthropic
  ``cache_read_input_tokens = input // 2``, ``cache_creation_input_tokens =
  input // 4`` and ``input_tokens`` the rest (so the three add up to input).
- Streamed text comes one word per chunk; tool arguments in two fragments.
  OpenAI streams end with a usage chunk (when ``stream_options.include_usage``)
  and ``data: [DONE]``.
- Embeddings: ``dimensions`` (default 8) floats in [0, 1) derived from a
  SHA-256 of each input; usage counts words.

Scripted faults, per model name (``MODELS`` for ``GET /v1/models``), consumed
one per request, then plain success::

    fake.script("gpt-4o-mini", [Step.status(429, retry_after=2), Step.ok()])

Steps: ok, status(code, retry_after=…, retry_after_ms=…), overloaded (529),
stream_error (an error event inside a 200 stream), hang, slow(delay) (before
the answer and between chunks), drop(after_chunks), stall(after_chunks),
malformed, context_too_long, unauthorized.

Every request is recorded (path, lower-cased headers, parsed body) in
``fake.requests``; ``fake.max_in_flight`` counts concurrent requests.
Use it as ``with FakeUpstream() as fake:`` or ``start()`` / ``stop()``; it runs
in a thread with its own event loop, so sync and async tests share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from aiohttp import web

MODELS = "(models)"

StepKind = Literal[
    "ok",
    "status",
    "overloaded",
    "stream_error",
    "hang",
    "slow",
    "drop",
    "stall",
    "malformed",
    "context_too_long",
    "unauthorized",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One scripted answer. Build with the class methods."""

    kind: StepKind
    status_code: int = 200
    retry_after: float | str | None = None
    retry_after_ms: float | None = None
    delay: float = 0.0
    after_chunks: int = 0
    message: str | None = None

    @classmethod
    def ok(cls) -> Step:
        return cls(kind="ok")

    @classmethod
    def status(
        cls,
        code: int,
        *,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
        message: str | None = None,
    ) -> Step:
        """An error status with the provider's error body; ``retry_after`` as
        seconds or an HTTP-date string, ``retry_after_ms`` as OpenAI's header."""
        return cls(
            kind="status",
            status_code=code,
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            message=message,
        )

    @classmethod
    def overloaded(cls) -> Step:
        """529 with ``overloaded_error``."""
        return cls(kind="overloaded", status_code=529)

    @classmethod
    def stream_error(cls) -> Step:
        """Anthropic: a 200 stream that sends an ``error`` event (overloaded_error)
        after message_start. OpenAI: an ``error`` object in a data line."""
        return cls(kind="stream_error")

    @classmethod
    def hang(cls, seconds: float = 30.0) -> Step:
        """Accept the request and answer nothing (until ``seconds`` or stop)."""
        return cls(kind="hang", delay=seconds)

    @classmethod
    def slow(cls, delay: float) -> Step:
        """Wait ``delay`` before the answer and between streamed chunks."""
        return cls(kind="slow", delay=delay)

    @classmethod
    def drop(cls, after_chunks: int = 1) -> Step:
        """Close the connection after ``after_chunks`` streamed events (JSON:
        after half the body)."""
        return cls(kind="drop", after_chunks=after_chunks)

    @classmethod
    def stall(cls, after_chunks: int = 1, seconds: float = 30.0) -> Step:
        """Send ``after_chunks`` streamed events promptly, then nothing for
        ``seconds`` (or until stop), then close the connection."""
        return cls(kind="stall", after_chunks=after_chunks, delay=seconds)

    @classmethod
    def malformed(cls) -> Step:
        """200 with a body (or a data line) that is not JSON."""
        return cls(kind="malformed")

    @classmethod
    def context_too_long(cls) -> Step:
        """400 in each provider's shape for a prompt over the context window."""
        return cls(kind="context_too_long", status_code=400)

    @classmethod
    def unauthorized(cls) -> Step:
        """401; the body echoes the key it was given (worse than either
        provider, which mask it) so tests can prove adapters never pass it on."""
        return cls(kind="unauthorized", status_code=401)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


@dataclass(slots=True)
class _Conversation:
    last_user_text: str
    tool_result_text: str | None
    input_words: int
    image_count: int


@dataclass(slots=True)
class _Answer:
    text: str
    tool_name: str | None
    tool_arguments: str
    truncated: bool
    input_tokens: int
    output_tokens: int
    cached_tokens: int


class FakeUpstream:
    """See the module docstring."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._scripts: dict[str, deque[Step]] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._calls = 0

    # -- lifecycle ---------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL without ``/v1`` (Anthropic's SDK form)."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> FakeUpstream:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-llm-upstream", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        done = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            done.result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/messages", self._messages)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=0.2, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = int(server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        """Wake hanging handlers, let them finish, close the server."""
        if self._stopping is not None:
            self._stopping.set()
        await asyncio.sleep(0.05)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- test API ----------------------------------------------------------------

    def script(self, model: str, steps: Sequence[Step]) -> None:
        with self._lock:
            self._scripts.setdefault(model, deque()).extend(steps)

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self.requests.clear()
            self.max_in_flight = self.in_flight

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    @property
    def last(self) -> RecordedRequest:
        return self.requests[-1]

    def _next_step(self, model: str) -> Step:
        with self._lock:
            queue = self._scripts.get(model)
            if queue:
                return queue.popleft()
        return Step.ok()

    @contextlib.contextmanager
    def _counted(self) -> Iterator[None]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _record(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            body: Any = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError:
            body = raw.decode(errors="replace")
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self._calls += 1
            self.requests.append(RecordedRequest(request.method, request.path, headers, body))
        return body

    async def _hang(self, seconds: float) -> None:
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- handlers: OpenAI ------------------------------------------------------------

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        with self._counted():
            body = await self._record(request)
            step = self._next_step(str(body.get("model", "")) if isinstance(body, dict) else "")
            early = await self._early(request, step, "openai")
            if early is not None:
                return early
            assert isinstance(body, dict)
            answer = _openai_answer(body)
            call_id = f"call_{self._calls}"
            completion_id = f"chatcmpl-{self._calls}"
            model = str(body["model"])
            if not body.get("stream"):
                payload = {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": 1_700_000_000,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": _openai_message(answer, call_id),
                            "finish_reason": _openai_finish(answer),
                            "logprobs": None,
                        }
                    ],
                    "usage": _openai_usage(answer),
                }
                return await self._json(request, step, payload)
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events: list[bytes] = []

            def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
                return _sse_data(
                    {
                        "id": completion_id,
                        "object": "chat.completion.chunk",
                        "created": 1_700_000_000,
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }
                )

            events.append(chunk({"role": "assistant", "content": ""}))
            if answer.tool_name is None:
                words = answer.text.split(" ")
                for i, word in enumerate(words):
                    events.append(chunk({"content": word if i == 0 else " " + word}))
            else:
                events.append(
                    chunk(
                        {
                            "tool_calls": [
                                {
                                    "index": 0,
                                    "id": call_id,
                                    "type": "function",
                                    "function": {"name": answer.tool_name, "arguments": ""},
                                }
                            ]
                        }
                    )
                )
                half = len(answer.tool_arguments) // 2
                for fragment in (answer.tool_arguments[:half], answer.tool_arguments[half:]):
                    events.append(
                        chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
                    )
            events.append(chunk({}, _openai_finish(answer)))
            if include_usage:
                events.append(
                    _sse_data(
                        {
                            "id": completion_id,
                            "object": "chat.completion.chunk",
                            "created": 1_700_000_000,
                            "model": model,
                            "choices": [],
                            "usage": _openai_usage(answer),
                        }
                    )
                )
            if step.kind == "stream_error":
                events.insert(
                    2,
                    _sse_data({"error": {"message": "Overloaded", "type": "server_error"}}),
                )
                del events[3:]
            else:
                events.append(b"data: [DONE]\n\n")
            return await self._sse(request, step, events)

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        with self._counted():
            body = await self._record(request)
            step = self._next_step(str(body.get("model", "")) if isinstance(body, dict) else "")
            early = await self._early(request, step, "openai")
            if early is not None:
                return early
            assert isinstance(body, dict)
            inputs = body["input"]
            if isinstance(inputs, str):
                inputs = [inputs]
            dimensions = int(body.get("dimensions") or 8)
            data = []
            for index, text in enumerate(inputs):
                digest = hashlib.sha256(str(text).encode()).digest()
                vector = [digest[i % len(digest)] / 256 for i in range(dimensions)]
                data.append({"object": "embedding", "index": index, "embedding": vector})
            words = sum(_words(str(text)) for text in inputs)
            payload = {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": words, "total_tokens": words},
            }
            return await self._json(request, step, payload)

    async def _models(self, request: web.Request) -> web.StreamResponse:
        with self._counted():
            await self._record(request)
            step = self._next_step(MODELS)
            protocol: Literal["openai", "anthropic"] = (
                "anthropic" if "anthropic-version" in request.headers else "openai"
            )
            early = await self._early(request, step, protocol)
            if early is not None:
                return early
            models = ["fake-model", "fake-model-cached"]
            payload = {
                "object": "list",
                "data": [
                    {
                        "id": m,
                        "object": "model",
                        "type": "model",
                        "created": 1_700_000_000,
                        "created_at": "2025-01-01T00:00:00Z",
                        "display_name": m,
                        "owned_by": "fake",
                    }
                    for m in models
                ],
                "has_more": False,
                "first_id": models[0],
                "last_id": models[-1],
            }
            return await self._json(request, step, payload)

    # -- handlers: Anthropic ---------------------------------------------------------

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        with self._counted():
            body = await self._record(request)
            step = self._next_step(str(body.get("model", "")) if isinstance(body, dict) else "")
            early = await self._early(request, step, "anthropic")
            if early is not None:
                return early
            assert isinstance(body, dict)
            answer = _anthropic_answer(body)
            message_id = f"msg_{self._calls}"
            tool_id = f"toolu_{self._calls}"
            model = str(body["model"])
            usage = _anthropic_usage(answer)
            blocks: list[dict[str, Any]] = []
            if answer.tool_name is None:
                blocks.append({"type": "text", "text": answer.text})
            else:
                blocks.append({"type": "text", "text": f"calling {answer.tool_name}"})
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": tool_id,
                        "name": answer.tool_name,
                        "input": msgspec.json.decode(answer.tool_arguments),
                    }
                )
            stop_reason = _anthropic_stop(answer)
            if not body.get("stream"):
                payload = {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": blocks,
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": usage,
                }
                return await self._json(request, step, payload)
            events = [
                _sse_event(
                    "message_start",
                    {
                        "type": "message_start",
                        "message": {
                            "id": message_id,
                            "type": "message",
                            "role": "assistant",
                            "model": model,
                            "content": [],
                            "stop_reason": None,
                            "stop_sequence": None,
                            "usage": {**usage, "output_tokens": 1},
                        },
                    },
                )
            ]
            if step.kind == "stream_error":
                events.append(
                    _sse_event(
                        "error",
                        {
                            "type": "error",
                            "error": {"type": "overloaded_error", "message": "Overloaded"},
                        },
                    )
                )
                return await self._sse(request, step, events)
            for index, block in enumerate(blocks):
                start = dict(block)
                if block["type"] == "text":
                    start["text"] = ""
                else:
                    start["input"] = {}
                events.append(
                    _sse_event(
                        "content_block_start",
                        {"type": "content_block_start", "index": index, "content_block": start},
                    )
                )
                if index == 0:
                    events.append(_sse_event("ping", {"type": "ping"}))
                if block["type"] == "text":
                    words = str(block["text"]).split(" ")
                    for i, word in enumerate(words):
                        events.append(
                            _sse_event(
                                "content_block_delta",
                                {
                                    "type": "content_block_delta",
                                    "index": index,
                                    "delta": {
                                        "type": "text_delta",
                                        "text": word if i == 0 else " " + word,
                                    },
                                },
                            )
                        )
                else:
                    half = len(answer.tool_arguments) // 2
                    for fragment in (answer.tool_arguments[:half], answer.tool_arguments[half:]):
                        events.append(
                            _sse_event(
                                "content_block_delta",
                                {
                                    "type": "content_block_delta",
                                    "index": index,
                                    "delta": {"type": "input_json_delta", "partial_json": fragment},
                                },
                            )
                        )
                events.append(
                    _sse_event("content_block_stop", {"type": "content_block_stop", "index": index})
                )
            events.append(
                _sse_event(
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                        "usage": {"output_tokens": answer.output_tokens},
                    },
                )
            )
            events.append(_sse_event("message_stop", {"type": "message_stop"}))
            return await self._sse(request, step, events)

    # -- faults and writers ------------------------------------------------------------

    async def _early(
        self, request: web.Request, step: Step, protocol: Literal["openai", "anthropic"]
    ) -> web.StreamResponse | None:
        """The answer for steps that replace the normal one, or None."""
        if step.kind == "hang":
            await self._hang(step.delay)
            return web.Response(status=504)
        if step.kind == "status":
            headers: dict[str, str] = {}
            if step.retry_after is not None:
                headers["retry-after"] = str(step.retry_after)
            if step.retry_after_ms is not None:
                headers["retry-after-ms"] = str(step.retry_after_ms)
            message = step.message or f"Scripted status {step.status_code}."
            kind = {
                400: "invalid_request_error",
                401: "authentication_error",
                403: "permission_error",
                404: "not_found_error",
                429: "rate_limit_error",
                503: "overloaded_error",
            }.get(step.status_code, "api_error")
            return _error(protocol, step.status_code, kind, message, headers=headers)
        if step.kind == "overloaded":
            return _error(protocol, 529, "overloaded_error", "Overloaded")
        if step.kind == "context_too_long":
            if protocol == "anthropic":
                return _error(
                    protocol,
                    400,
                    "invalid_request_error",
                    "prompt is too long: 210000 tokens > 200000 maximum",
                )
            return _error(
                protocol,
                400,
                "invalid_request_error",
                "This model's maximum context length is 128000 tokens. However, your messages "
                "resulted in 210000 tokens. Please reduce the length of the messages.",
                code="context_length_exceeded",
            )
        if step.kind == "unauthorized":
            key = request.headers.get("x-api-key") or request.headers.get("authorization") or ""
            key = key.removeprefix("Bearer ")
            return _error(
                protocol,
                401,
                "authentication_error",
                f"Incorrect API key provided: {key}.",
                code="invalid_api_key",
            )
        return None

    async def _json(self, request: web.Request, step: Step, payload: Any) -> web.StreamResponse:
        body = msgspec.json.encode(payload)
        if step.kind == "slow":
            await asyncio.sleep(step.delay)
        if step.kind == "malformed":
            body = b'{"id": "broken", "choices": [{"index": 0, "mess'
        if step.kind == "drop":
            response = web.StreamResponse(
                status=200,
                headers={"content-type": "application/json", "content-length": str(len(body))},
            )
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            _abort(request)
            return response
        return web.Response(body=body, content_type="application/json")

    async def _sse(
        self, request: web.Request, step: Step, events: list[bytes]
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            status=200, headers={"content-type": "text/event-stream", "cache-control": "no-cache"}
        )
        if step.kind == "slow":
            await asyncio.sleep(step.delay)
        await response.prepare(request)
        if step.kind == "malformed":
            events = [*events[:1], b"data: {this is not json\n\n", *events[1:]]
        for count, event in enumerate(events):
            if step.kind == "drop" and count >= step.after_chunks:
                _abort(request)
                return response
            if step.kind == "stall" and count == step.after_chunks:
                await self._hang(step.delay)
                _abort(request)
                return response
            if step.kind == "slow" and count:
                await asyncio.sleep(step.delay)
            await response.write(event)
        await response.write_eof()
        return response


# -- helpers ----------------------------------------------------------------------------


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


def _error(
    protocol: Literal["openai", "anthropic"],
    status: int,
    kind: str,
    message: str,
    *,
    code: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    if protocol == "anthropic":
        payload: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        payload = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.Response(
        status=status,
        body=msgspec.json.encode(payload),
        content_type="application/json",
        headers=dict(headers or {}),
    )


def _sse_data(payload: Any) -> bytes:
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"


def _sse_event(event: str, payload: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + msgspec.json.encode(payload) + b"\n\n"


def _words(text: str) -> int:
    return len(text.split())


def _content_text(content: Any) -> str:
    """Text of an OpenAI or Anthropic content value (string or parts)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "tool_result":
            texts.append(_content_text(part.get("content", "")))
    return " ".join(texts)


def _answer(
    *,
    model: str,
    conversation: _Conversation,
    tools: list[str],
    json_mode: bool,
    max_tokens: int | None,
) -> _Answer:
    tool_name = None
    if conversation.tool_result_text is None:
        for name in tools:
            if f"call {name}" in conversation.last_user_text:
                tool_name = name
                break
    source = (
        conversation.tool_result_text
        if conversation.tool_result_text is not None
        else conversation.last_user_text
    )
    text = f"echo: {source}"
    if json_mode:
        text = msgspec.json.encode({"echo": source}).decode()
    truncated = False
    if tool_name is None and max_tokens is not None and _words(text) > max_tokens:
        text = " ".join(text.split()[:max_tokens])
        truncated = True
    arguments = msgspec.json.encode({"text": conversation.last_user_text}).decode()
    output = _words(text) if tool_name is None else _words(arguments)
    inputs = conversation.input_words
    return _Answer(
        text=text,
        tool_name=tool_name,
        tool_arguments=arguments,
        truncated=truncated,
        input_tokens=inputs,
        output_tokens=output,
        cached_tokens=inputs // 2 if "cached" in model else 0,
    )


def _openai_answer(body: dict[str, Any]) -> _Answer:
    messages = body.get("messages") or []
    last_user = ""
    words = 0
    images = 0
    for message in messages:
        words += _words(_content_text(message.get("content")))
        if message.get("role") == "user":
            last_user = _content_text(message.get("content"))
            content = message.get("content")
            if isinstance(content, list):
                images += sum(1 for p in content if p.get("type") == "image_url")
    tool_result = None
    if messages and messages[-1].get("role") == "tool":
        tool_result = _content_text(messages[-1].get("content"))
    tools = [t["function"]["name"] for t in body.get("tools") or []]
    fmt = (body.get("response_format") or {}).get("type")
    return _answer(
        model=str(body.get("model", "")),
        conversation=_Conversation(last_user, tool_result, words, images),
        tools=tools,
        json_mode=fmt in ("json_object", "json_schema"),
        max_tokens=body.get("max_tokens") or body.get("max_completion_tokens"),
    )


def _openai_message(answer: _Answer, call_id: str) -> dict[str, Any]:
    if answer.tool_name is None:
        return {"role": "assistant", "content": answer.text, "refusal": None}
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": answer.tool_name, "arguments": answer.tool_arguments},
            }
        ],
    }


def _openai_finish(answer: _Answer) -> str:
    if answer.tool_name is not None:
        return "tool_calls"
    return "length" if answer.truncated else "stop"


def _openai_usage(answer: _Answer) -> dict[str, Any]:
    return {
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.output_tokens,
        "prompt_tokens_details": {"cached_tokens": answer.cached_tokens, "audio_tokens": 0},
    }


def _anthropic_answer(body: dict[str, Any]) -> _Answer:
    messages = body.get("messages") or []
    system = body.get("system") or ""
    system_text = _content_text(system)
    words = _words(system_text)
    last_user = ""
    images = 0
    for message in messages:
        words += _words(_content_text(message.get("content")))
        content = message.get("content")
        if message.get("role") == "user":
            if isinstance(content, list) and any(
                p.get("type") == "tool_result" for p in content if isinstance(p, dict)
            ):
                continue
            last_user = _content_text(content)
            if isinstance(content, list):
                images += sum(1 for p in content if p.get("type") == "image")
    tool_result = None
    if messages:
        content = messages[-1].get("content")
        if isinstance(content, list):
            results = [p for p in content if isinstance(p, dict) and p.get("type") == "tool_result"]
            if results:
                tool_result = " ".join(_content_text(p.get("content", "")) for p in results)
    tools = [t["name"] for t in body.get("tools") or []]
    return _answer(
        model=str(body.get("model", "")),
        conversation=_Conversation(last_user, tool_result, words, images),
        tools=tools,
        json_mode="JSON" in system_text,
        max_tokens=body.get("max_tokens"),
    )


def _anthropic_stop(answer: _Answer) -> str:
    if answer.tool_name is not None:
        return "tool_use"
    return "max_tokens" if answer.truncated else "end_turn"


def _anthropic_usage(answer: _Answer) -> dict[str, Any]:
    read = answer.cached_tokens
    creation = answer.input_tokens // 4 if read else 0
    return {
        "input_tokens": answer.input_tokens - read - creation,
        "output_tokens": answer.output_tokens,
        "cache_read_input_tokens": read,
        "cache_creation_input_tokens": creation,
    }
