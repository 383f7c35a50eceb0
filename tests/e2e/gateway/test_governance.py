"""Budgets, limits and the unpriced-model setting on the gateway's call path."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.e2e.gateway.conftest import PRICED, Caller
from tests.fakes.llm_upstream import FakeUpstream

pytestmark = pytest.mark.e2e

LLM = "/api/v1/llm"


async def admin_put(
    client: AsyncTestClient[Litestar], caller: Caller, path: str, body: dict[str, Any]
) -> None:
    response = await client.put(
        f"{LLM}{path}", json=body, headers=caller.user.in_(caller.workspace)
    )
    assert response.status_code in (200, 201), response.text


def chat(model: str, max_tokens: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "a b c"}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


async def test_concurrent_calls_cannot_overspend_a_budget(
    client: AsyncTestClient[Litestar], caller: Caller, http: httpx.AsyncClient
) -> None:
    # Each call holds its worst case: (8 framing + 8 per message + 5 bytes) input tokens
    # at 1 $/MTok plus 10 output tokens at 2 $/MTok = 41 µ$; a 100 µ$ budget fits two.
    await admin_put(client, caller, "/budgets/workspace", {"limit_usd": "0.0001", "period": "day"})
    answers = await asyncio.gather(
        *(
            http.post("/v1/chat/completions", headers=caller.key_headers, json=chat(PRICED, 10))
            for _ in range(10)
        )
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(200) >= 2 and set(statuses) <= {200, 402}
    refused = next(r for r in answers if r.status_code == 402)
    assert refused.json()["error"]["code"] == "budget_exceeded"
    budgets = await client.get(f"{LLM}/budgets", headers=caller.user.in_(caller.workspace))
    [budget] = budgets.json() if isinstance(budgets.json(), list) else budgets.json()["budgets"]
    assert float(budget["spent_usd"]) <= 0.0001
    native = await http.post(f"{LLM}/chat", headers=caller.key_headers, json=chat(PRICED, 10))
    assert native.status_code in (200, 402)


async def test_a_requests_per_minute_limit_answers_429_with_retry_after(
    client: AsyncTestClient[Litestar], caller: Caller, http: httpx.AsyncClient
) -> None:
    await admin_put(client, caller, "/limits/workspace", {"requests_per_minute": 3})
    answers = [
        await http.post("/v1/chat/completions", headers=caller.key_headers, json=chat("openai/x"))
        for _ in range(5)
    ]
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    assert int(answers[3].headers["retry-after"]) >= 1
    assert answers[3].json()["error"]["type"] == "rate_limit_error"


async def test_a_workspace_can_refuse_models_without_a_price(
    client: AsyncTestClient[Litestar],
    caller: Caller,
    http: httpx.AsyncClient,
    upstream: FakeUpstream,
) -> None:
    await admin_put(client, caller, "/settings", {"refuse_unpriced_models": True})
    refused = await http.post(
        "/v1/chat/completions", headers=caller.key_headers, json=chat("openai/unpriced-thing")
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "unpriced_model_refused"
    assert upstream.requests_to("/v1/chat/completions") == []
    priced = await http.post("/v1/chat/completions", headers=caller.key_headers, json=chat(PRICED))
    assert priced.status_code == 200
