"""The one table of statuses: every class maps where the API says, 499 included."""

from __future__ import annotations

import msgspec

from domain.llm.errors import BudgetExceeded, CircuitOpen, ProviderRateLimited, ProviderTimeout
from entrypoints.http.errors import ClientClosedRequest, problem, status_of


def test_gateway_errors_map_to_their_statuses() -> None:
    assert status_of(BudgetExceeded()) == 402
    assert status_of(ProviderRateLimited(retry_after=3)) == 429
    assert status_of(CircuitOpen()) == 503
    assert status_of(ProviderTimeout()) == 504


def test_a_client_gone_is_499_with_a_title() -> None:
    assert status_of(ClientClosedRequest()) == 499
    response = problem(499, "client_closed_request", "gone")
    body = msgspec.json.decode(msgspec.json.encode(response.content))
    assert body["title"] == "Client Closed Request" and body["status"] == 499
