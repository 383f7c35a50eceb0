"""Ports for stored provider credentials."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.llm.credential import Credential, EncryptedSecret
from domain.llm.ids import CredentialId
from domain.tenancy.ids import WorkspaceId


class SecretCipher(Protocol):
    @abstractmethod
    def encrypt(self, plaintext: str, *, associated_data: bytes) -> EncryptedSecret: ...

    @abstractmethod
    def decrypt(self, secret: EncryptedSecret, *, associated_data: bytes) -> str:
        """Raises CredentialUnreadable when the key id is unknown, the
        ciphertext was altered, or the associated data differs."""


class BaseUrlGuard(Protocol):
    @abstractmethod
    async def check(self, url: str) -> str:
        """The URL normalised, or UnsafeBaseUrl: https only, and no host that
        resolves to a loopback, private, link-local, shared or metadata
        address (IPv4 or IPv6 form) unless the operator allowed that host."""


class CredentialRepository(Protocol):
    @abstractmethod
    async def add(self, credential: Credential) -> None:
        """Raises CredentialNameTaken when the workspace already uses the name."""

    @abstractmethod
    async def get(
        self, workspace_id: WorkspaceId, credential_id: CredentialId
    ) -> Credential | None: ...

    @abstractmethod
    async def remove(self, credential: Credential) -> None: ...


class CredentialLookup(Protocol):
    """The gateway's read: every credential of a workspace, oldest first."""

    @abstractmethod
    async def of_workspace(self, workspace_id: WorkspaceId) -> list[Credential]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialView:
    id: CredentialId
    provider: str
    name: str
    last4: str
    base_url: str | None
    created_by: str | None
    created_at: datetime


class CredentialReader(Protocol):
    @abstractmethod
    async def list(self, workspace_id: WorkspaceId) -> list[CredentialView]: ...
