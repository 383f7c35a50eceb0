from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class TokenPurpose(StrEnum):
    """Single-use tokens sent by mail; a token of one purpose never serves another."""

    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"

    @property
    def lifetime(self) -> timedelta:
        return _LIFETIMES[self]


_LIFETIMES = {
    TokenPurpose.VERIFY_EMAIL: timedelta(hours=24),
    TokenPurpose.RESET_PASSWORD: timedelta(minutes=30),
}
