"""Password policy after NIST SP 800-63B §3.1.1.2.

Length and a blocklist, nothing else: no composition rules, no periodic
expiry. Any Unicode is accepted and normalised (NFKC) so the same password
typed on two keyboards hashes the same.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from domain.identity.errors import WeakPassword

MIN_LENGTH = 10
MAX_LENGTH = 128


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("domain.identity").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def is_common(password: str) -> bool:
    """A listed password, alone or followed only by digits ("password2024")."""
    lowered = password.lower()
    common = _common_passwords()
    if lowered in common:
        return True
    base = lowered.rstrip("0123456789")
    return len(base) >= 4 and base != lowered and base in common


@dataclass(frozen=True, slots=True, repr=False)
class Password:
    """A plain-text password that passed the policy. Never logged: no repr."""

    value: str

    @classmethod
    def parse(cls, raw: str, *, context: tuple[str, ...] = (), field: str = "password") -> Password:
        text = unicodedata.normalize("NFKC", raw)
        length = len(text)
        if length < MIN_LENGTH:
            raise WeakPassword(
                f"The password must be at least {MIN_LENGTH} characters long.", field=field
            )
        if length > MAX_LENGTH:
            raise WeakPassword(
                f"The password must be at most {MAX_LENGTH} characters long.", field=field
            )
        if len(set(text)) == 1:
            raise WeakPassword("The password must not repeat a single character.", field=field)
        if is_common(text):
            raise WeakPassword(
                "This password is too common; choose one that is harder to guess.",
                field=field,
            )
        folded = text.casefold()
        if any(
            len(word) >= 4 and folded == unicodedata.normalize("NFKC", word).casefold()
            for word in context
        ):
            raise WeakPassword("The password must not be your email address or name.", field=field)
        return cls(text)

    def __repr__(self) -> str:
        return "Password(***)"


def normalize(raw: str) -> str:
    """The form a password is hashed and verified in (policy-free, for login)."""
    return unicodedata.normalize("NFKC", raw)
