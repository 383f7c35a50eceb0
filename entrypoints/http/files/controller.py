from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK

from adapters.postgres.engine import RequestConnection
from application.commands.files.add_version import AddFileVersion, AddFileVersionHandler
from application.commands.files.delete_file import DeleteFile, DeleteFileHandler
from application.commands.files.restore_version import RestoreVersion, RestoreVersionHandler
from application.commands.files.update_file import UpdateFile, UpdateFileHandler
from application.commands.files.upload_file import UploadFile, UploadFileHandler
from application.common.tenancy import WorkspaceActor
from application.ports.files import FileFilter, FileStorage
from application.queries.files.downloads import (
    GetDownloadLink,
    GetDownloadLinkHandler,
    OpenPublicFile,
    OpenPublicFileHandler,
    OpenSignedDownload,
    OpenSignedDownloadHandler,
)
from application.queries.files.get_file import (
    GetFile,
    GetFileHandler,
    ListVersions,
    ListVersionsHandler,
)
from application.queries.files.list_files import ListFiles, ListFilesHandler
from domain.files.errors import FileTooLarge, InvalidSignature
from domain.files.ids import FileId
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Permission
from entrypoints.config import Settings
from entrypoints.http.files.delivery import serve
from entrypoints.http.files.schemas import (
    DownloadOut,
    FileOut,
    FilePageOut,
    FilePatch,
    VersionOut,
)
from entrypoints.http.files.streaming import stream_parts

PUBLIC = {"security": "public"}
MULTIPART_OVERHEAD = 1 << 20


def needs(permission: Permission) -> dict[str, str]:
    return {"security": "workspace", "permission": permission.value}


Version = Annotated[int | None, Parameter(query="version", ge=1)]


class FileController(Controller):
    path = "/api/v1/files"
    tags = ["files"]

    @post(
        "/upload",
        opt=needs(Permission.RESOURCES_WRITE),
        request_max_body_size=None,  # the handler enforces FILE_MAX_UPLOAD_BYTES while streaming
        summary="Upload a file (multipart: file, category, tags, description, is_public)",
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[UploadFileHandler],
        read: FromDishka[GetFileHandler],
        settings: FromDishka[Settings],
    ) -> FileOut:
        _refuse_oversized(request, settings)
        file_id = await handler.execute(UploadFile(actor=actor, parts=stream_parts(request)))
        view = await read.execute(GetFile(actor=actor, file_id=file_id))
        return FileOut.of(view, settings.base_url)

    @get("/", opt=needs(Permission.RESOURCES_READ))
    async def list_files(
        self,
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[ListFilesHandler],
        settings: FromDishka[Settings],
        page: Annotated[int | None, Parameter(query="page", ge=1)] = None,
        size: Annotated[int | None, Parameter(query="size", ge=1, le=200)] = None,
        cursor: Annotated[str | None, Parameter(query="cursor", max_length=64)] = None,
        limit: Annotated[int | None, Parameter(query="limit", ge=1, le=200)] = None,
        category: Annotated[str | None, Parameter(query="category", max_length=64)] = None,
        tag: Annotated[str | None, Parameter(query="tag", max_length=64)] = None,
        q: Annotated[str | None, Parameter(query="q", max_length=200)] = None,
        is_public: Annotated[bool | None, Parameter(query="is_public")] = None,
        created_by: Annotated[UUID | None, Parameter(query="created_by")] = None,
        sort: Annotated[str, Parameter(query="sort", max_length=32)] = "-created_at",
    ) -> FilePageOut:
        result = await handler.execute(
            ListFiles(
                actor=actor,
                where=FileFilter(
                    category=category, tag=tag, q=q, is_public=is_public, created_by=created_by
                ),
                sort=sort,
                page=page,
                size=size,
                cursor=cursor,
                limit=limit,
            )
        )
        return FilePageOut(
            items=[FileOut.of(v, settings.base_url) for v in result.items],
            total=result.total,
            page=result.page,
            size=result.size,
            next_cursor=result.next_cursor,
        )

    @get("/{file_id:uuid}", opt=needs(Permission.RESOURCES_READ))
    async def show(
        self,
        file_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[GetFileHandler],
        settings: FromDishka[Settings],
        version: Version = None,
    ) -> FileOut:
        view = await handler.execute(GetFile(actor=actor, file_id=FileId(file_id), version=version))
        return FileOut.of(view, settings.base_url)

    @patch("/{file_id:uuid}", opt=needs(Permission.RESOURCES_WRITE))
    async def update(
        self,
        file_id: FromPath[UUID],
        data: JSONBody[FilePatch],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[UpdateFileHandler],
        read: FromDishka[GetFileHandler],
        settings: FromDishka[Settings],
    ) -> FileOut:
        given = msgspec.structs.asdict(data)
        await handler.execute(
            UpdateFile(
                actor=actor,
                file_id=FileId(file_id),
                filename=_value(given["filename"]),
                category=_value(given["category"]),
                tags=_value(given["tags"]),
                description=_value(given["description"]),
                is_public=_value(given["is_public"]),
                clear=frozenset(k for k in ("category", "description") if given[k] is None),
            )
        )
        view = await read.execute(GetFile(actor=actor, file_id=FileId(file_id)))
        return FileOut.of(view, settings.base_url)

    @delete("/{file_id:uuid}", opt=needs(Permission.RESOURCES_WRITE))
    async def remove(
        self,
        file_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[DeleteFileHandler],
    ) -> None:
        await handler.execute(DeleteFile(actor=actor, file_id=FileId(file_id)))

    @post(
        "/{file_id:uuid}/versions",
        opt=needs(Permission.RESOURCES_WRITE),
        request_max_body_size=None,
    )
    async def add_version(
        self,
        request: Request[Any, Any, Any],
        file_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[AddFileVersionHandler],
        read: FromDishka[GetFileHandler],
        settings: FromDishka[Settings],
    ) -> FileOut:
        _refuse_oversized(request, settings)
        await handler.execute(
            AddFileVersion(actor=actor, file_id=FileId(file_id), parts=stream_parts(request))
        )
        view = await read.execute(GetFile(actor=actor, file_id=FileId(file_id)))
        return FileOut.of(view, settings.base_url)

    @get("/{file_id:uuid}/versions", opt=needs(Permission.RESOURCES_READ))
    async def versions(
        self,
        file_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[ListVersionsHandler],
    ) -> list[VersionOut]:
        views = await handler.execute(ListVersions(actor=actor, file_id=FileId(file_id)))
        return [VersionOut.of(v) for v in views]

    @post(
        "/{file_id:uuid}/versions/{number:int}/restore",
        status_code=HTTP_200_OK,
        opt=needs(Permission.RESOURCES_WRITE),
    )
    async def restore(
        self,
        file_id: FromPath[UUID],
        number: FromPath[int],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[RestoreVersionHandler],
        read: FromDishka[GetFileHandler],
        settings: FromDishka[Settings],
    ) -> FileOut:
        await handler.execute(RestoreVersion(actor=actor, file_id=FileId(file_id), number=number))
        view = await read.execute(GetFile(actor=actor, file_id=FileId(file_id)))
        return FileOut.of(view, settings.base_url)

    @get("/{file_id:uuid}/download", opt=needs(Permission.RESOURCES_READ))
    async def download_link(
        self,
        file_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[GetDownloadLinkHandler],
        version: Version = None,
    ) -> DownloadOut:
        link = await handler.execute(
            GetDownloadLink(actor=actor, file_id=FileId(file_id), version=version)
        )
        return DownloadOut(url=link.url, expires_at=link.expires_at)

    @get(
        "/{file_id:uuid}/content",
        opt=PUBLIC,
        summary="The content behind a signed download link (the signature is the credential)",
    )
    async def content(
        self,
        request: Request[Any, Any, Any],
        file_id: FromPath[UUID],
        handler: FromDishka[OpenSignedDownloadHandler],
        storage: FromDishka[FileStorage],
        database: FromDishka[RequestConnection],
        ws: Annotated[str | None, Parameter(query="ws", max_length=64)] = None,
        v: Annotated[str | None, Parameter(query="v", max_length=12)] = None,
        exp: Annotated[str | None, Parameter(query="exp", max_length=16)] = None,
        sig: Annotated[str | None, Parameter(query="sig", max_length=128)] = None,
    ) -> Response[Any]:
        try:
            query = OpenSignedDownload(
                file_id=FileId(file_id),
                workspace_id=WorkspaceId(UUID(ws or "")),
                version=int(v or ""),
                expires=int(exp or ""),
                signature=sig or "",
            )
        except ValueError:
            raise InvalidSignature("The download link is not valid.") from None
        view = await handler.execute(query)
        await database.release()  # before a long stream starts
        return serve(request, view, storage, cache="private, max-age=0")

    @get("/public/{file_id:uuid}", opt=PUBLIC, summary="A public file's stable URL")
    async def public(
        self,
        request: Request[Any, Any, Any],
        file_id: FromPath[UUID],
        handler: FromDishka[OpenPublicFileHandler],
        storage: FromDishka[FileStorage],
        database: FromDishka[RequestConnection],
    ) -> Response[Any]:
        view = await handler.execute(OpenPublicFile(file_id=FileId(file_id)))
        await database.release()  # before a long stream starts
        return serve(request, view, storage, cache="public, max-age=60")


def _value(value: Any) -> Any:
    return None if value is msgspec.UNSET else value


def _refuse_oversized(request: Request[Any, Any, Any], settings: Settings) -> None:
    """A declared length over the limit is refused before a byte is read."""
    length = request.headers.get("content-length")
    limit = settings.file_max_upload_bytes + MULTIPART_OVERHEAD
    if length and length.isdigit() and int(length) > limit:
        raise FileTooLarge(
            f"The upload is larger than the {settings.file_max_upload_bytes:,} bytes allowed."
        )
