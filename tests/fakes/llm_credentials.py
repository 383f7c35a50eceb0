"""In-memory stored credentials, a scripted base URL guard and a pingable chat
model, behaving like the Postgres adapter, SafeBaseUrlGuard and a provider.

``InMemoryCredentials`` is the repository, the reader and the gateway's
lookup over one table, enlisted in the ``FakeUnitOfWork`` so what a request
did not commit is rolled back. ``CredentialWorld`` wires every credential
handler to these fakes, the real AES-GCM cipher and a resolver.
"""

from __future__ import annotations

import base64
import builtins
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import cast
from urllib.parse import urlsplit
from uuid import UUID

from adapters.security.cipher import AesGcmCipher
from application.commands.llm.create_credential import CreateCredential, CreateCredentialHandler
from application.commands.llm.delete_credential import DeleteCredential, DeleteCredentialHandler
from application.commands.llm.test_credential import (
    CredentialTestResult,
    TestCredential,
    TestCredentialHandler,
)
from application.common.tenancy import WorkspaceActor
from application.llm.endpoints import EndpointResolver
from application.llm.settings import LlmSettings
from application.ports.llm import ChatModel, Endpoint
from application.ports.llm_credentials import (
    BaseUrlGuard,
    CredentialLookup,
    CredentialReader,
    CredentialRepository,
    CredentialView,
)
from application.queries.llm.list_credentials import ListCredentials, ListCredentialsHandler
from domain.identity.ids import UserId
from domain.llm.chat import ChatChunk, ChatRequest, ChatResponse, StopReason, Usage
from domain.llm.credential import Credential
from domain.llm.errors import CredentialNameTaken, ProviderError, UnsafeBaseUrl
from domain.llm.ids import CredentialId
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role, permissions_of
from tests.fakes.audit import RecordingAuditLog
from tests.fakes.system import FakeClock, SequentialIds
from tests.fakes.transaction import FakeUnitOfWork


def master_key(seed: str) -> bytes:
    """32 deterministic bytes for a test master key."""
    return (seed.encode() * 32)[:32]


def master_keys_setting(*ids: str) -> str:
    """An ``LLM_MASTER_KEYS`` value for the given key ids."""
    return ",".join(f"{i}:{base64.b64encode(master_key(i)).decode()}" for i in ids)


class InMemoryCredentials(CredentialRepository, CredentialReader, CredentialLookup):
    """Like the SQL adapters: names are unique per workspace, reads are oldest
    first and scoped to the workspace asked for. ``lookups`` counts the
    gateway's reads, as the database would see them."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.rows: dict[CredentialId, Credential] = {}
        self.lookups = 0
        uow.enlist(self)

    def snapshot(self) -> object:
        return {k: replace(v) for k, v in self.rows.items()}

    def restore(self, snapshot: object) -> None:
        self.rows = {
            k: replace(v) for k, v in cast(dict[CredentialId, Credential], snapshot).items()
        }

    def _of(self, workspace_id: WorkspaceId) -> builtins.list[Credential]:
        return sorted(
            (c for c in self.rows.values() if c.workspace_id == workspace_id),
            key=lambda c: (c.created_at, c.id),
        )

    async def add(self, credential: Credential) -> None:
        if any(c.name == credential.name for c in self._of(credential.workspace_id)):
            raise CredentialNameTaken(field="name")
        self.rows[credential.id] = replace(credential)

    async def get(
        self, workspace_id: WorkspaceId, credential_id: CredentialId
    ) -> Credential | None:
        found = self.rows.get(credential_id)
        return replace(found) if found and found.workspace_id == workspace_id else None

    async def remove(self, credential: Credential) -> None:
        found = self.rows.get(credential.id)
        if found is not None and found.workspace_id == credential.workspace_id:
            del self.rows[credential.id]

    async def list(self, workspace_id: WorkspaceId) -> builtins.list[CredentialView]:
        return [
            CredentialView(
                id=c.id,
                provider=c.provider.value,
                name=c.name,
                last4=c.last4,
                base_url=c.base_url,
                created_by=str(c.created_by) if c.created_by else None,
                created_at=c.created_at,
            )
            for c in self._of(workspace_id)
        ]

    async def of_workspace(self, workspace_id: WorkspaceId) -> builtins.list[Credential]:
        self.lookups += 1
        return [replace(c) for c in self._of(workspace_id)]


class ScriptedGuard(BaseUrlGuard):
    """Like SafeBaseUrlGuard over a scripted world: https only, hosts in
    ``unsafe`` are refused (as if they resolved to a private address), the
    result has no trailing slash. ``checked`` lists every URL it was asked about."""

    def __init__(self, unsafe: set[str] | None = None) -> None:
        self.unsafe = unsafe if unsafe is not None else {"127.0.0.1", "internal.example"}
        self.checked: list[str] = []

    async def check(self, url: str) -> str:
        self.checked.append(url)
        parts = urlsplit(url.strip())
        if parts.scheme != "https" or not parts.hostname:
            raise UnsafeBaseUrl("base_url must use https.", field="base_url")
        if parts.hostname in self.unsafe:
            raise UnsafeBaseUrl("base_url points at a private address.", field="base_url")
        return url.strip().rstrip("/")


@dataclass
class PingingChatModel(ChatModel):
    """Answers pings (or raises ``failure``) and records where each call went.
    Chat calls answer a fixed text, so it can stand in for a provider anywhere."""

    failure: ProviderError | None = None
    pinged: list[Endpoint] = field(default_factory=list)
    time_limits: list[float] = field(default_factory=list)

    async def ping(self, endpoint: Endpoint, *, time_limit: float) -> None:
        self.pinged.append(endpoint)
        self.time_limits.append(time_limit)
        if self.failure is not None:
            raise self.failure

    async def complete(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> ChatResponse:
        await self.ping(endpoint, time_limit=time_limit)
        return ChatResponse(
            id="fake", model=model, content="ok", stop_reason=StopReason.STOP, usage=Usage()
        )

    async def stream(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> AsyncIterator[ChatChunk]:
        await self.ping(endpoint, time_limit=time_limit)
        yield ChatChunk(text="ok", stop_reason=StopReason.STOP, usage=Usage())


class Ticker:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class CredentialWorld:
    """The credential handlers as one process would run them, over fakes."""

    def __init__(
        self,
        settings: LlmSettings | None = None,
        *,
        key_ids: tuple[str, ...] = ("k1",),
    ) -> None:
        self.settings = settings or LlmSettings(policy_cache_seconds=2.0)
        self.uow = FakeUnitOfWork()
        self.clock = FakeClock()
        self.ids = SequentialIds()
        self.audit = RecordingAuditLog(self.uow)
        self.credentials = InMemoryCredentials(self.uow)
        self.cipher = AesGcmCipher([(i, master_key(i)) for i in key_ids])
        self.guard = ScriptedGuard()
        self.chat = PingingChatModel()
        self.ticker = Ticker()
        self.resolver = EndpointResolver(
            self.credentials, self.cipher, self.guard, self.settings, monotonic=self.ticker
        )
        self.workspace = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000a"))
        self.other_workspace = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000b"))
        self.admin = UserId(UUID("0190eeee-0000-7000-8000-000000000001"))

    def actor(
        self, role: Role = Role.ADMIN, workspace: WorkspaceId | None = None
    ) -> WorkspaceActor:
        return WorkspaceActor(
            workspace_id=workspace or self.workspace,
            user_id=self.admin,
            role=role,
            permissions=permissions_of(role),
        )

    async def create(self, cmd: CreateCredential) -> Credential:
        handler = CreateCredentialHandler(
            self.credentials,
            self.cipher,
            self.guard,
            self.audit,
            self.ids,
            self.clock,
            self.uow,
            self.resolver,
        )
        try:
            return await handler.execute(cmd)
        finally:
            self.uow.rollback()  # what the request did not commit

    async def add(
        self,
        provider: str = "openai",
        name: str | None = None,
        api_key: str | None = "sk-test-0123456789abcdef",
        base_url: str | None = None,
        workspace: WorkspaceId | None = None,
    ) -> Credential:
        self.clock.advance(seconds=1)  # distinct creation times: "oldest" is well defined
        return await self.create(
            CreateCredential(
                actor=self.actor(workspace=workspace),
                provider=provider,
                name=name or f"{provider}-{len(self.credentials.rows) + 1}",
                api_key=api_key,
                base_url=base_url,
            )
        )

    async def delete(self, cmd: DeleteCredential) -> None:
        handler = DeleteCredentialHandler(self.credentials, self.audit, self.uow, self.resolver)
        try:
            await handler.execute(cmd)
        finally:
            self.uow.rollback()

    async def test(self, cmd: TestCredential) -> CredentialTestResult:
        return await TestCredentialHandler(self.resolver, self.chat, self.settings).execute(cmd)

    async def list(self, role: Role = Role.ADMIN) -> builtins.list[CredentialView]:
        return await ListCredentialsHandler(self.credentials).execute(
            ListCredentials(actor=self.actor(role))
        )
