"""The SDK client cache and the failure helpers shared by both adapters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from adapters.llm.clients import LlmClients, clean_message, error_from_event, retry_after
from domain.llm.errors import (
    ContextTooLong,
    ProviderAuthenticationFailed,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderUnavailable,
)


async def test_sdk_clients_are_cached_per_base_url_and_key_and_share_one_pool() -> None:
    pool = LlmClients(transport="httpx", max_sdk_clients=2)
    try:
        a = pool.openai("http://a.test/v1", "sk-aaaaaaaaaa")
        assert pool.openai("http://a.test/v1", "sk-aaaaaaaaaa") is a
        b = pool.openai("http://a.test/v1", "sk-bbbbbbbbbb")
        assert b is not a
        assert b._client is a._client  # one pooled HTTP client per protocol
        pool.openai("http://a.test/v1", "sk-aaaaaaaaaa")  # a is now the most recent
        pool.openai("http://c.test/v1", "sk-cccccccccc")  # evicts b, the least recent
        assert pool.openai("http://a.test/v1", "sk-aaaaaaaaaa") is a
        assert pool.openai("http://a.test/v1", "sk-bbbbbbbbbb") is not b
        anthropic = pool.anthropic("http://a.test/v1", "sk-ant-aaaaaaaa")
        assert str(anthropic.base_url).rstrip("/") == "http://a.test"
        assert anthropic._client is not a._client
        assert "sk-" not in repr(pool)
    finally:
        await pool.aclose()


def test_an_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match="transport"):
        LlmClients(transport="curl")  # type: ignore[arg-type]


def test_retry_after_reads_milliseconds_seconds_and_dates() -> None:
    assert retry_after({"retry-after-ms": "250"}) == 0.25
    assert retry_after({"retry-after": "7"}) == 7.0
    assert retry_after({"retry-after": "1.5", "retry-after-ms": "nonsense"}) == 1.5
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    wait = retry_after({"retry-after": future})
    assert wait is not None
    assert 57 <= wait <= 60
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=60), usegmt=True)
    assert retry_after({"retry-after": past}) == 0.0
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None


def test_messages_lose_the_key_and_key_shaped_strings_and_are_trimmed() -> None:
    key = "secret-key-value-123"
    text = clean_message(f"bad key {key}; also sk-proj-abcdef123456 " + "x" * 1000, key)

    assert key not in text
    assert "sk-proj-abcdef123456" not in text
    assert text.count("[redacted]") == 2
    assert len(text) <= 300


@pytest.mark.parametrize(
    ("kind", "message", "error"),
    [
        ("overloaded_error", "Overloaded", ProviderOverloaded),
        ("rate_limit_error", "slow down", ProviderRateLimited),
        ("authentication_error", "bad key", ProviderAuthenticationFailed),
        ("invalid_request_error", "prompt is too long: 300000 tokens", ContextTooLong),
        ("api_error", "oops", ProviderUnavailable),
        ("something_new", "?", ProviderUnavailable),
    ],
)
def test_errors_inside_a_stream_map_by_type(
    kind: str, message: str, error: type[Exception]
) -> None:
    assert type(error_from_event(kind, message, "k")) is error
