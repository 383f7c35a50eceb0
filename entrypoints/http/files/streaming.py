"""A streaming multipart/form-data reader: parts are handed over as they
arrive, their bytes read on demand, nothing buffered beyond one chunk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from application.ports.files import UploadPart
from domain.files.errors import InvalidFileMetadata, NotMultipart

MAX_PARTS = 16


def boundary_of(request: Request[Any, Any, Any]) -> str:
    mime, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get("boundary", "")
    if mime != "multipart/form-data" or not boundary:
        raise NotMultipart("Send the upload as multipart/form-data.")
    return str(boundary)


async def _events(
    request: Request[Any, Any, Any], boundary: str
) -> AsyncIterator[MultipartSegment | bytes | None]:
    parser = PushMultipartParser(boundary, max_segment_count=MAX_PARTS)
    try:
        async for chunk in request.stream():
            for event in parser.parse(chunk):
                yield event
            if parser.closed:
                return
        for event in parser.parse(b""):
            yield event
        if not parser.closed:
            raise InvalidFileMetadata("The multipart body ended early.", field="file")
    except MultipartError as exc:
        raise InvalidFileMetadata(f"Malformed multipart body: {exc}", field="body") from None
    finally:
        parser.close(check_complete=False)


async def stream_parts(request: Request[Any, Any, Any]) -> AsyncIterator[UploadPart]:
    events = _events(request, boundary_of(request))

    async def body() -> AsyncIterator[bytes]:
        async for event in events:
            if event is None:  # end of this part
                return
            if isinstance(event, bytes):
                yield event

    async for event in events:
        if isinstance(event, MultipartSegment):
            chunks = body()
            yield UploadPart(
                name=event.name or "",
                filename=event.filename,
                content_type=event.content_type,
                chunks=chunks,
            )
            async for _ in chunks:  # whatever the reader left of this part
                pass
