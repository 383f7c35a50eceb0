"""Server-Sent Events framing shared by the gateway's three dialects.

Frames are bytes, ready to write. JSON payloads are encoded by the caller
(msgspec, no newlines in its output), so a payload is always one ``data:``
line; text that may hold newlines goes through :func:`data_lines`.
"""

from __future__ import annotations

from typing import Final

CONTENT_TYPE: Final = "text/event-stream"
HEADERS: Final = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
KEEP_ALIVE: Final = b": keep-alive\n\n"


def data(payload: bytes) -> bytes:
    """A data-only frame (OpenAI's dialect): ``data: <payload>``."""
    return b"data: " + payload + b"\n\n"


def event(name: bytes, payload: bytes) -> bytes:
    """A named event (Anthropic's and the native dialect): ``event: <name>`` + ``data:``."""
    return b"event: " + name + b"\ndata: " + payload + b"\n\n"


def comment(text: str = "") -> bytes:
    """A comment line, ignored by every SSE client: keeps idle connections open."""
    if not text:
        return b":\n\n"
    return b"".join(b": " + line.encode() + b"\n" for line in text.splitlines()) + b"\n"


def data_lines(text: str) -> bytes:
    """A data frame for arbitrary text: one ``data:`` line per line of it, as the
    SSE grammar requires (a client joins them back with newlines)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return b"".join(b"data: " + line.encode() + b"\n" for line in lines) + b"\n"
