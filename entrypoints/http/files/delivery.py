"""Sending a stored blob: ranges, validators, and headers that keep a browser
from running what it receives."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.response import Stream

from application.ports.files import FileStorage, FileView
from domain.files.types import is_active

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def content_disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback and the exact name as ``filename*``."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(start, length) for one satisfiable range; None without one; False if unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or (not match[1] and not match[2]):
        return None  # malformed or multiple ranges: RFC 9110 lets us send it all
    if not match[1]:
        suffix = int(match[2])
        if suffix == 0:
            return False
        start = max(0, size - suffix)
        return start, size - start
    start = int(match[1])
    end = int(match[2]) if match[2] else size - 1
    if start >= size or end < start:
        return False
    end = min(end, size - 1)
    return start, end - start + 1


def serve(
    request: Request[Any, Any, Any], view: FileView, storage: FileStorage, *, cache: str
) -> Response[Any]:
    etag = f'"{view.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(view.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": cache,
    }
    media_type = "application/octet-stream" if is_active(view.content_type) else view.content_type
    matches = request.headers.get("if-none-match")
    if matches and (matches.strip() == "*" or etag in [m.strip() for m in matches.split(",")]):
        return Response(content=b"", status_code=304, headers=headers)
    wanted = _range(request.headers.get("range"), view.size)
    if wanted is False:
        headers["Content-Range"] = f"bytes */{view.size}"
        return Response(content=b"", status_code=416, headers=headers)
    if wanted is None or (request.headers.get("if-range") not in (None, etag)):
        headers["Content-Length"] = str(view.size)
        return Stream(
            storage.read(view.storage_key), media_type=media_type, headers=headers, status_code=200
        )
    start, length = wanted  # type: ignore[misc]
    headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{view.size}"
    headers["Content-Length"] = str(length)
    return Stream(
        storage.read(view.storage_key, offset=start, length=length),
        media_type=media_type,
        headers=headers,
        status_code=206,
    )
