"""SSE framing, read back by the openai SDK's own SSE parser."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from openai._streaming import SSEDecoder

from entrypoints.http.llm import sse


def parse(body: bytes) -> list[tuple[str | None, str]]:
    return [(e.event, e.data) for e in SSEDecoder().iter_bytes(iter([body]))]


def test_data_frames_and_named_events() -> None:
    body = sse.data(b'{"a":1}') + sse.event(b"usage", b'{"b":2}') + sse.data(b"[DONE]")
    assert body.startswith(b'data: {"a":1}\n\n')
    assert parse(body) == [(None, '{"a":1}'), ("usage", '{"b":2}'), (None, "[DONE]")]


def test_comments_keep_alive_and_are_invisible_to_clients() -> None:
    body = sse.KEEP_ALIVE + sse.comment() + sse.comment("two\nlines") + sse.data(b"x")
    assert body.count(b"\n\n") == 4
    assert parse(body) == [(None, "x")]


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r")))
def test_any_text_survives_data_lines(text: str) -> None:
    assert parse(sse.data_lines(text)) == [(None, text)]


def test_data_lines_normalises_carriage_returns() -> None:
    assert parse(sse.data_lines("a\r\nb\rc")) == [(None, "a\nb\nc")]
