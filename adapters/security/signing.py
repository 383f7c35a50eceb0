from __future__ import annotations

import base64
import hashlib
import hmac

from application.ports.files import UrlSigner


class HmacUrlSigner(UrlSigner):
    """HMAC-SHA256, URL-safe base64; compared in constant time."""

    def __init__(self, key: str) -> None:
        if len(key.encode()) < 32:
            raise ValueError("the signing key must be at least 32 bytes")
        self._key = key.encode()

    def sign(self, message: str) -> str:
        digest = hmac.new(self._key, message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def verify(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message).encode(), signature.encode())
