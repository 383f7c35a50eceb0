"""Provider credentials a workspace stores with us (admin+). The key goes in
once and never comes back out: responses show its last 4 characters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from application.commands.llm.create_credential import CreateCredential, CreateCredentialHandler
from application.commands.llm.delete_credential import DeleteCredential, DeleteCredentialHandler
from application.commands.llm.test_credential import TestCredential, TestCredentialHandler
from application.common.tenancy import WorkspaceActor
from application.ports.llm_credentials import CredentialView
from application.queries.llm.list_credentials import ListCredentials, ListCredentialsHandler
from domain.llm.credential import Credential
from domain.llm.ids import CredentialId
from domain.llm.models import Provider
from domain.tenancy.roles import Permission
from entrypoints.http.tenancy.controller import needs

# Loose bounds against oversized bodies; the command states the real rules.
ProviderName = Annotated[
    str,
    msgspec.Meta(
        max_length=32, examples=["openai"], description=", ".join(p.value for p in Provider)
    ),
]
CredentialName = Annotated[str, msgspec.Meta(max_length=256, examples=["Production OpenAI"])]
ApiKey = Annotated[str, msgspec.Meta(max_length=1_000)]
BaseUrl = Annotated[str, msgspec.Meta(max_length=4_096, examples=["https://llm.example.com/v1"])]


class CredentialIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    provider: ProviderName
    name: CredentialName
    api_key: ApiKey | None = None
    base_url: BaseUrl | None = None

    def __repr__(self) -> str:
        return f"CredentialIn(provider={self.provider!r}, name={self.name!r})"


class CredentialOut(msgspec.Struct, kw_only=True):
    id: UUID
    provider: str
    name: str
    last4: str
    base_url: str | None
    created_by: UUID | None
    created_at: datetime

    @classmethod
    def of_view(cls, v: CredentialView) -> CredentialOut:
        return cls(
            id=v.id,
            provider=v.provider,
            name=v.name,
            last4=v.last4,
            base_url=v.base_url,
            created_by=UUID(v.created_by) if v.created_by else None,
            created_at=v.created_at,
        )

    @classmethod
    def of(cls, c: Credential) -> CredentialOut:
        return cls(
            id=c.id,
            provider=c.provider.value,
            name=c.name,
            last4=c.last4,
            base_url=c.base_url,
            created_by=c.created_by,
            created_at=c.created_at,
        )


class CredentialTestOut(msgspec.Struct, kw_only=True):
    ok: bool
    latency_ms: int


MANAGE = needs(Permission.CREDENTIALS_MANAGE)


class CredentialController(Controller):
    path = "/api/v1/llm/credentials"
    tags = ["llm credentials"]

    @post("/", opt=MANAGE)
    async def create(
        self,
        data: JSONBody[CredentialIn],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[CreateCredentialHandler],
    ) -> CredentialOut:
        credential = await handler.execute(
            CreateCredential(
                actor=actor,
                provider=data.provider,
                name=data.name,
                api_key=data.api_key,
                base_url=data.base_url,
            )
        )
        return CredentialOut.of(credential)

    @get("/", opt=MANAGE)
    async def list_credentials(
        self, actor: FromDishka[WorkspaceActor], handler: FromDishka[ListCredentialsHandler]
    ) -> list[CredentialOut]:
        return [
            CredentialOut.of_view(v) for v in await handler.execute(ListCredentials(actor=actor))
        ]

    @delete("/{credential_id:uuid}", opt=MANAGE)
    async def remove(
        self,
        credential_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[DeleteCredentialHandler],
    ) -> None:
        await handler.execute(
            DeleteCredential(actor=actor, credential_id=CredentialId(credential_id))
        )

    @post("/{credential_id:uuid}/test", opt=MANAGE, status_code=HTTP_200_OK)
    async def test(
        self,
        credential_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[TestCredentialHandler],
    ) -> CredentialTestOut:
        result = await handler.execute(
            TestCredential(actor=actor, credential_id=CredentialId(credential_id))
        )
        return CredentialTestOut(ok=result.ok, latency_ms=result.latency_ms)
