from __future__ import annotations

import time
from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.llm.endpoints import EndpointResolver
from application.llm.settings import LlmSettings
from application.ports.llm import ChatModel
from domain.llm.errors import ProviderError
from domain.llm.ids import CredentialId
from domain.tenancy.roles import Permission

# A test is a cheap call: it never waits as long as a chat attempt may.
MAX_TEST_SECONDS = 10.0

_FAILED = {
    "authentication": "The provider refused the key.",
    "rate_limited": "The provider is rate limiting this key; try again later.",
    "overloaded": "The provider is overloaded; try again later.",
    "timeout": "The provider did not answer in time.",
    "bad_request": "The provider rejected the test request.",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TestCredential:
    __test__ = False  # not a pytest class

    actor: WorkspaceActor
    credential_id: CredentialId


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialTestResult:
    __test__ = False

    ok: bool
    latency_ms: int


class TestCredentialHandler:
    """One cheap authenticated call (the provider's model list) with the stored
    key, sent where the gateway would send it. A failure is the provider error
    (HTTP 502, 504 for a timeout) with a detail of our own: the upstream's
    message may quote part of the key."""

    __test__ = False

    def __init__(self, endpoints: EndpointResolver, chat: ChatModel, settings: LlmSettings) -> None:
        self._endpoints = endpoints
        self._chat = chat
        self._time_limit = min(settings.attempt_timeout_seconds, MAX_TEST_SECONDS)

    async def execute(self, cmd: TestCredential) -> CredentialTestResult:
        cmd.actor.require(Permission.CREDENTIALS_MANAGE)
        endpoint = await self._endpoints.credential(cmd.actor.workspace_id, cmd.credential_id)
        started = time.perf_counter()
        try:
            await self._chat.ping(endpoint, time_limit=self._time_limit)
        except ProviderError as error:
            raise type(error)(
                _FAILED.get(error.kind, "The provider could not be reached."),
                retry_after=error.retry_after,
                status=error.upstream_status,
            ) from None
        return CredentialTestResult(
            ok=True, latency_ms=round((time.perf_counter() - started) * 1000)
        )
