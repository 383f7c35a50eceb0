"""Filenames are metadata, never paths: what a client sends is reduced to a
safe display name, and storage keys are generated, never derived from it."""

from __future__ import annotations

import re
import unicodedata

from domain.files.errors import InvalidFilename

MAX_FILENAME_BYTES = 255
# Control, format (bidi overrides, zero-width), surrogate, private, unassigned, line breaks.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)


def sanitize_filename(raw: str) -> str:
    """The last path component, NFC, without control, format (bidi) or
    separator characters, not a reserved device name, at most 255 UTF-8 bytes
    with the extension kept."""
    text = unicodedata.normalize("NFC", raw)
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(
        ch
        for ch in text
        if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
    )
    text = _trim(text)
    if not text:
        raise InvalidFilename("The file needs a name.", field="filename")
    if _RESERVED.match(text):
        text = "_" + text
    if len(text.encode()) > MAX_FILENAME_BYTES:
        stem, dot, ext = text.rpartition(".")
        ext = dot + ext if dot and len(ext.encode()) <= 16 else ""
        stem = stem if dot and ext else text
        budget = MAX_FILENAME_BYTES - len(ext.encode())
        stem = _trim(stem.encode()[:budget].decode(errors="ignore"))
        text = stem + ext
    return text


def _trim(text: str) -> str:
    """No leading or trailing whitespace or dots ('. .env', 'name. ')."""
    while True:
        trimmed = text.strip().strip(".")
        if trimmed == text:
            return text
        text = trimmed


def extension_of(filename: str) -> str:
    """Lower-cased, without the dot; '' when there is none."""
    stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and stem else ""
