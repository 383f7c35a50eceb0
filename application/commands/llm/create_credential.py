from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.llm.endpoints import EndpointResolver
from application.llm.settings import DEFAULT_BASE_URLS
from application.ports.audit import AuditLog
from application.ports.llm_credentials import BaseUrlGuard, CredentialRepository, SecretCipher
from application.ports.system import Clock, IdGenerator
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.llm.credential import Credential, credential_associated_data
from domain.llm.errors import InvalidCredential
from domain.llm.ids import CredentialId
from domain.llm.models import Provider
from domain.tenancy.roles import Permission

MAX_NAME_LENGTH = 64
MAX_KEY_LENGTH = 500
# A key shorter than this shows no characters at all: last4 would give away too much of it.
MIN_KEY_LENGTH_TO_SHOW = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateCredential:
    actor: WorkspaceActor
    provider: str
    name: str
    api_key: str | None = None
    base_url: str | None = None

    def __repr__(self) -> str:  # the key stays out of every log line and traceback
        return f"CreateCredential(provider={self.provider!r}, name={self.name!r})"


def parse_provider(raw: str) -> Provider:
    try:
        return Provider(raw.strip().lower())
    except ValueError:
        known = ", ".join(p.value for p in Provider)
        raise InvalidCredential(f"provider must be one of: {known}.", field="provider") from None


def parse_name(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw).strip()
    if not 1 <= len(name) <= MAX_NAME_LENGTH or any(
        unicodedata.category(c)[0] == "C" for c in name
    ):
        raise InvalidCredential(
            f"name must be 1 to {MAX_NAME_LENGTH} printable characters.", field="name"
        )
    return name


def parse_api_key(raw: str | None, provider: Provider) -> str:
    """The key as given, or "" for a keyless local server. Printable ASCII only:
    it travels in an HTTP header. The message never repeats the key."""
    if raw is None or raw == "":
        if provider.needs_api_key:
            raise InvalidCredential(f"api_key is required for {provider.value}.", field="api_key")
        return ""
    if len(raw) > MAX_KEY_LENGTH or not all("!" <= c <= "~" for c in raw):
        raise InvalidCredential(
            f"api_key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, "
            "without spaces or control characters.",
            field="api_key",
        )
    return raw


def last4(api_key: str) -> str:
    return api_key[-4:] if len(api_key) >= MIN_KEY_LENGTH_TO_SHOW else ""


class CreateCredentialHandler:
    """Stores a provider key encrypted, bound to its workspace and id; the key
    is never returned, logged or audited (the view shows its last 4 characters)."""

    def __init__(
        self,
        credentials: CredentialRepository,
        cipher: SecretCipher,
        guard: BaseUrlGuard,
        audit: AuditLog,
        ids: IdGenerator,
        clock: Clock,
        tx: TransactionManager,
        endpoints: EndpointResolver,
    ) -> None:
        self._credentials = credentials
        self._cipher = cipher
        self._guard = guard
        self._audit = audit
        self._ids = ids
        self._clock = clock
        self._tx = tx
        self._endpoints = endpoints

    async def execute(self, cmd: CreateCredential) -> Credential:
        cmd.actor.require(Permission.CREDENTIALS_MANAGE)
        provider = parse_provider(cmd.provider)
        name = parse_name(cmd.name)
        api_key = parse_api_key(cmd.api_key, provider)
        base_url = None
        if cmd.base_url is not None and cmd.base_url.strip():
            base_url = await self._guard.check(cmd.base_url)
        elif provider not in DEFAULT_BASE_URLS:
            raise InvalidCredential(f"base_url is required for {provider.value}.", field="base_url")
        credential_id = CredentialId(self._ids.new())
        workspace_id = cmd.actor.workspace_id
        credential = Credential(
            id=credential_id,
            workspace_id=workspace_id,
            provider=provider,
            name=name,
            secret=self._cipher.encrypt(
                api_key,
                associated_data=credential_associated_data(workspace_id, credential_id),
            ),
            last4=last4(api_key),
            base_url=base_url,
            created_by=cmd.actor.user_id,
            created_at=self._clock.now(),
        )
        await self._credentials.add(credential)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.LLM_CREDENTIAL_CREATED,
                target_type="llm_credential",
                target_id=credential.id,
                metadata={"provider": provider.value, "name": name},
            )
        )
        await self._tx.commit()
        self._endpoints.forget(workspace_id)
        return credential
