from __future__ import annotations

import unicodedata

from domain.common.errors import InvalidInput

_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}


def display_name(raw: str, *, max_length: int, error: type[InvalidInput], field: str) -> str:
    """A human-facing name: NFC, trimmed, non-empty, bounded, nothing invisible or
    direction-changing (control, format, surrogate, private, unassigned)."""
    text = unicodedata.normalize("NFC", raw).strip()
    if not text:
        raise error("The name must not be empty.", field=field)
    if len(text) > max_length:
        raise error(f"The name must be at most {max_length} characters long.", field=field)
    if any(unicodedata.category(ch) in _INVISIBLE for ch in text):
        raise error("The name must not contain control characters.", field=field)
    return text
