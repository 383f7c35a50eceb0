from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.identity.errors import InvalidEmail

_LOCAL = re.compile(r"^[^\s@\"(),:;<>\[\]\\]+$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True, slots=True)
class Email:
    """An email address, normalised so that equality is case-insensitive.

    The whole address is lower-cased: providers treat local parts
    case-insensitively in practice, and two accounts differing only by case
    are a takeover risk. Internationalised domains are stored as punycode.
    """

    value: str

    @classmethod
    def parse(cls, raw: str) -> Email:
        text = unicodedata.normalize("NFC", raw).strip()
        if text.count("@") != 1:
            raise InvalidEmail("Enter a valid email address.", field="email")
        local, domain = text.rsplit("@", 1)
        # Lower-casing can reorder combining marks: normalise again after it.
        local = unicodedata.normalize("NFC", local.lower())
        try:
            domain = domain.lower().rstrip(".").encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidEmail("The email domain is not valid.", field="email") from exc
        if len(local) + 1 + len(domain) > 254:  # measured as stored, punycode included
            raise InvalidEmail("The email address is too long.", field="email")
        labels = domain.split(".")
        if (
            not 1 <= len(local) <= 64
            or not _LOCAL.match(local)
            or local.startswith(".")
            or local.endswith(".")
            or ".." in local
            or any(unicodedata.category(ch)[0] == "C" for ch in local)
            or len(labels) < 2
            or not all(_LABEL.match(label) for label in labels)
            or labels[-1].isdigit()
        ):
            raise InvalidEmail("Enter a valid email address.", field="email")
        return cls(f"{local}@{domain}")

    @property
    def local_part(self) -> str:
        return self.value.rsplit("@", 1)[0]

    def __str__(self) -> str:
        return self.value
