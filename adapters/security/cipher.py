"""AES-256-GCM for stored provider keys, with key ids so master keys can rotate.

``LLM_MASTER_KEYS`` holds ``id:base64-of-32-bytes`` entries, comma-separated.
The first entry seals every new secret; every entry opens the secrets sealed
under its id. To rotate: put a new key first, keep the old one after it until
every secret has been re-created, then drop it.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from application.ports.llm_credentials import SecretCipher
from domain.llm.credential import EncryptedSecret
from domain.llm.errors import CredentialUnreadable

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, GCM's native nonce size
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def parse_master_keys(raw: str) -> list[tuple[str, bytes]]:
    """``id:base64`` entries in order. A ValueError names the entry by its
    position and id only, never its material."""
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if not entries:
        raise ValueError("LLM_MASTER_KEYS has no key")
    keys: list[tuple[str, bytes]] = []
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID.fullmatch(key_id):
            raise ValueError(
                f"LLM_MASTER_KEYS entry {position} is not 'id:base64' with an id of "
                "1-32 letters, digits, '.', '_' or '-'"
            )
        try:
            material = base64.b64decode(
                encoded.strip().replace("-", "+").replace("_", "/"), validate=True
            )
        except (binascii.Error, ValueError):
            raise ValueError(
                f"LLM_MASTER_KEYS entry {position} ({key_id}) is not valid base64"
            ) from None
        if len(material) != KEY_BYTES:
            raise ValueError(
                f"LLM_MASTER_KEYS entry {position} ({key_id}) must decode to {KEY_BYTES} bytes, "
                f"not {len(material)}"
            )
        keys.append((key_id, material))
    ids = [key_id for key_id, _ in keys]
    if len(set(ids)) != len(ids):
        raise ValueError("LLM_MASTER_KEYS names a key id twice")
    return keys


class AesGcmCipher(SecretCipher):
    """Seals with the first key; opens with whichever key the secret names.

    The associated data (workspace and credential ids) is authenticated, so a
    ciphertext moved to another row does not open.
    """

    __slots__ = ("_keys", "_sealing_id")

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("AesGcmCipher needs at least one key")
        self._keys: dict[str, AESGCM] = {}
        for key_id, material in keys:
            if len(material) != KEY_BYTES:
                raise ValueError(f"master key {key_id!r} must be {KEY_BYTES} bytes")
            if key_id in self._keys:
                raise ValueError(f"master key id {key_id!r} appears twice")
            self._keys[key_id] = AESGCM(material)
        self._sealing_id = keys[0][0]

    @classmethod
    def from_setting(cls, raw: str) -> AesGcmCipher:
        return cls(parse_master_keys(raw))

    @property
    def sealing_key_id(self) -> str:
        return self._sealing_id

    def encrypt(self, plaintext: str, *, associated_data: bytes) -> EncryptedSecret:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._sealing_id].encrypt(
            nonce, plaintext.encode("utf-8"), associated_data
        )
        return EncryptedSecret(key_id=self._sealing_id, nonce=nonce, ciphertext=sealed)

    def decrypt(self, secret: EncryptedSecret, *, associated_data: bytes) -> str:
        key = self._keys.get(secret.key_id)
        if key is None or len(secret.nonce) != NONCE_BYTES:
            raise CredentialUnreadable
        try:
            return key.decrypt(secret.nonce, secret.ciphertext, associated_data).decode("utf-8")
        except (InvalidTag, UnicodeDecodeError, ValueError):
            raise CredentialUnreadable from None

    def __repr__(self) -> str:
        return f"AesGcmCipher(key_ids={list(self._keys)!r})"
