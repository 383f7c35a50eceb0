"""Stored provider credentials: the ciphertext and what may be shown of it."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.errors import translated
from adapters.postgres.statements import Statements, UnitOfWorkStatements
from adapters.postgres.tables import llm_credentials
from application.ports.llm_credentials import (
    CredentialLookup,
    CredentialReader,
    CredentialRepository,
    CredentialView,
)
from domain.llm.credential import Credential, EncryptedSecret
from domain.llm.errors import CredentialNameTaken
from domain.llm.ids import CredentialId
from domain.llm.models import Provider
from domain.tenancy.ids import WorkspaceId

NAME_CONSTRAINT = "uq_llm_credentials_workspace_id_name"
_OLDEST_FIRST = (llm_credentials.c.created_at, llm_credentials.c.id)
# Rows of a provider this version knows (a newer version may have written others).
_KNOWN_PROVIDER = llm_credentials.c.provider.in_([p.value for p in Provider])


def _credential(row: RowMapping) -> Credential:
    return Credential(
        id=row["id"],
        workspace_id=row["workspace_id"],
        provider=Provider(row["provider"]),
        name=row["name"],
        secret=EncryptedSecret(
            key_id=row["key_id"], nonce=bytes(row["nonce"]), ciphertext=bytes(row["ciphertext"])
        ),
        last4=row["last4"],
        base_url=row["base_url"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


class SqlCredentialRepository(UnitOfWorkStatements, CredentialRepository):
    async def add(self, credential: Credential) -> None:
        inserted = await self._execute(
            pg_insert(llm_credentials)
            .values(
                id=credential.id,
                workspace_id=credential.workspace_id,
                provider=credential.provider.value,
                name=credential.name,
                key_id=credential.secret.key_id,
                nonce=credential.secret.nonce,
                ciphertext=credential.secret.ciphertext,
                last4=credential.last4,
                base_url=credential.base_url,
                created_by=credential.created_by,
                created_at=credential.created_at,
            )
            .on_conflict_do_nothing(constraint=NAME_CONSTRAINT)
            .returning(llm_credentials.c.id)
        )
        if inserted.scalar_one_or_none() is None:
            raise CredentialNameTaken(field="name")

    async def get(
        self, workspace_id: WorkspaceId, credential_id: CredentialId
    ) -> Credential | None:
        row = (
            (
                await self._execute(
                    select(llm_credentials)
                    .where(
                        llm_credentials.c.workspace_id == workspace_id,
                        llm_credentials.c.id == credential_id,
                        _KNOWN_PROVIDER,
                    )
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        return _credential(row) if row else None

    async def remove(self, credential: Credential) -> None:
        await self._execute(
            delete(llm_credentials).where(
                llm_credentials.c.workspace_id == credential.workspace_id,
                llm_credentials.c.id == credential.id,
            )
        )


class SqlCredentialReader(Statements, CredentialReader):
    async def list(self, workspace_id: WorkspaceId) -> list[CredentialView]:
        rows = await self._execute(
            select(
                llm_credentials.c.id,
                llm_credentials.c.provider,
                llm_credentials.c.name,
                llm_credentials.c.last4,
                llm_credentials.c.base_url,
                llm_credentials.c.created_by,
                llm_credentials.c.created_at,
            )
            .where(llm_credentials.c.workspace_id == workspace_id, _KNOWN_PROVIDER)
            .order_by(*_OLDEST_FIRST)
        )
        return [
            CredentialView(
                **{
                    **row,
                    "created_by": str(row["created_by"]) if row["created_by"] else None,
                }
            )
            for row in rows.mappings()
        ]


class SqlCredentialLookup(CredentialLookup):
    """The gateway's read, at APP scope: each call takes a pooled connection for
    one statement and gives it back, so a cached answer costs no connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def of_workspace(self, workspace_id: WorkspaceId) -> list[Credential]:
        with translated():
            async with self._engine.connect() as connection:
                rows = await connection.execute(
                    select(llm_credentials)
                    .where(
                        llm_credentials.c.workspace_id == workspace_id,
                        _KNOWN_PROVIDER,
                    )
                    .order_by(*_OLDEST_FIRST)
                )
                return [_credential(row) for row in rows.mappings()]
