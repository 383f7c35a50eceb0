"""A provider API key a workspace stored with us, kept encrypted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.identity.ids import UserId
from domain.llm.ids import CredentialId
from domain.llm.models import Provider
from domain.tenancy.ids import WorkspaceId


@dataclass(frozen=True, slots=True, kw_only=True)
class EncryptedSecret:
    """AES-256-GCM output; ``key_id`` names the master key that sealed it, so
    keys can rotate while old ciphertexts stay readable."""

    key_id: str
    nonce: bytes
    ciphertext: bytes


def credential_associated_data(workspace_id: WorkspaceId, credential_id: CredentialId) -> bytes:
    """Bound into every ciphertext: a row copied to another workspace or id fails to open."""
    return f"synapscale:llm-credential:{workspace_id}:{credential_id}".encode()


@dataclass(slots=True, kw_only=True)
class Credential:
    id: CredentialId
    workspace_id: WorkspaceId
    provider: Provider
    name: str
    secret: EncryptedSecret
    last4: str
    base_url: str | None
    created_by: UserId | None
    created_at: datetime
