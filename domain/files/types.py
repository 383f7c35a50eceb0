"""What a file may be: its extension is allowed, and its bytes agree with it.

Binary formats are recognised by their magic bytes; text formats must be
UTF-8 without NUL bytes and must not carry a binary format's signature. The
declared type (multipart ``Content-Type``) must agree too, or be generic.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.files.errors import UnsupportedFileType


@dataclass(frozen=True, slots=True)
class Kind:
    mime: str
    text: bool = False
    # Extensions a sniffer may report for this format (a .docx is also a zip).
    signatures: frozenset[str] = frozenset()


def _binary(mime: str, *signatures: str) -> Kind:
    return Kind(mime=mime, signatures=frozenset(signatures))


KINDS: dict[str, Kind] = {
    "png": _binary("image/png", "png"),
    "jpg": _binary("image/jpeg", "jpg", "jpeg", "jfif", "jpe"),
    "jpeg": _binary("image/jpeg", "jpg", "jpeg", "jfif", "jpe"),
    "gif": _binary("image/gif", "gif"),
    "webp": _binary("image/webp", "webp"),
    "pdf": _binary("application/pdf", "pdf"),
    "zip": _binary("application/zip", "zip", "docx", "xlsx", "pptx", "jar", "odt", "epub"),
    "docx": _binary(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "zip"
    ),
    "xlsx": _binary(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "zip", "docx"
    ),
    "pptx": _binary(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pptx",
        "zip",
        "docx",
    ),
    "mp3": _binary("audio/mpeg", "mp3"),
    "wav": _binary("audio/wav", "wav"),
    "mp4": _binary("video/mp4", "mp4", "m4a", "m4v", "mov"),
    "txt": Kind("text/plain", text=True),
    "csv": Kind("text/csv", text=True),
    "tsv": Kind("text/tab-separated-values", text=True),
    "md": Kind("text/markdown", text=True),
    "json": Kind("application/json", text=True),
    "jsonl": Kind("application/jsonl", text=True),
    "yaml": Kind("application/yaml", text=True),
    "yml": Kind("application/yaml", text=True),
    "log": Kind("text/plain", text=True),
    "html": Kind("text/html", text=True),
    "htm": Kind("text/html", text=True),
    "svg": Kind("image/svg+xml", text=True),
    "xml": Kind("application/xml", text=True),
    "js": Kind("text/javascript", text=True),
}

# What clients commonly declare for the same format.
ALIASES: dict[str, tuple[str, ...]] = {
    "jpg": ("image/jpg", "image/pjpeg"),
    "jpeg": ("image/jpg", "image/pjpeg"),
    "zip": ("application/x-zip-compressed", "application/x-zip"),
    "mp3": ("audio/mp3", "audio/x-mpeg"),
    "wav": ("audio/x-wav", "audio/wave", "audio/vnd.wave"),
    "csv": ("application/csv", "application/vnd.ms-excel", "text/x-csv"),
    "md": ("text/x-markdown",),
    "json": ("text/json",),
    "jsonl": ("application/x-ndjson", "application/x-jsonlines"),
    "yaml": ("text/yaml", "application/x-yaml", "text/x-yaml"),
    "yml": ("text/yaml", "application/x-yaml", "text/x-yaml"),
    "xml": ("text/xml",),
    "js": ("application/javascript", "application/x-javascript"),
}

# A browser would run these if served inline: always sent as attachments.
ACTIVE_TYPES = frozenset(
    {"text/html", "image/svg+xml", "application/xml", "text/xml", "text/javascript"}
)
GENERIC_DECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream"})
# Text formats whose content sniffers recognise by markup, not magic bytes.
MARKUP_SIGNATURES = frozenset({"html", "htm", "svg", "xml", "xhtml"})


# Signatures of binary formats: a text file carrying one is not text. (Sniffers
# also report loose text matches — "eml", "rng", … — which say nothing.)
BINARY_SIGNATURES = frozenset().union(
    *(kind.signatures for kind in KINDS.values() if not kind.text),
    {
        "exe",
        "dll",
        "elf",
        "msi",
        "com",
        "class",
        "so",
        "dylib",
        "wasm",
        "gz",
        "tgz",
        "bz2",
        "xz",
        "7z",
        "rar",
        "tar",
        "zst",
        "cab",
        "iso",
        "dmg",
        "bmp",
        "tif",
        "tiff",
        "ico",
        "psd",
        "heic",
        "avif",
        "ogg",
        "flac",
        "aac",
        "m4a",
        "avi",
        "mkv",
        "webm",
        "mov",
        "wmv",
        "flv",
        "doc",
        "xls",
        "ppt",
        "rtf",
        "sqlite",
        "db",
        "swf",
        "odt",
        "ods",
        "epub",
    },
)


def is_active(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in ACTIVE_TYPES


def check_type(
    *,
    extension: str,
    allowed: frozenset[str],
    declared: str | None,
    head: bytes,
    sniffed: frozenset[str],
) -> str:
    """The content type to store, or UnsupportedFileType with the reason."""
    kind = KINDS.get(extension)
    if not extension or extension not in allowed or kind is None:
        shown = f".{extension}" if extension else "files without an extension"
        raise UnsupportedFileType(f"Uploads of {shown} are not allowed.", field="file")
    if kind.text:
        binary = sniffed & BINARY_SIGNATURES
        if b"\x00" in head or binary or not _utf8_prefix(head):
            raise UnsupportedFileType(
                f"The content is not the text a .{extension} file holds.", field="file"
            )
    elif not sniffed & kind.signatures:
        raise UnsupportedFileType(
            f"The content does not look like a .{extension} file.", field="file"
        )
    declared_type = (declared or "").split(";")[0].strip().lower()
    accepted = {kind.mime, *ALIASES.get(extension, ())} | ({"text/plain"} if kind.text else set())
    if declared_type not in GENERIC_DECLARED and declared_type not in accepted:
        raise UnsupportedFileType(
            f"The declared type {declared_type} does not match a .{extension} file ({kind.mime}).",
            field="file",
        )
    return kind.mime


def _utf8_prefix(head: bytes) -> bool:
    """Valid UTF-8, allowing a sequence cut at the end of the sample."""
    for cut in range(4):
        try:
            head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return True
    return False
