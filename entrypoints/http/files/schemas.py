from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from application.ports.files import FileVersionView, FileView


class FilePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    filename: Annotated[str, msgspec.Meta(max_length=1024)] | msgspec.UnsetType = msgspec.UNSET
    category: Annotated[str, msgspec.Meta(max_length=256)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    tags: (
        Annotated[list[Annotated[str, msgspec.Meta(max_length=256)]], msgspec.Meta(max_length=64)]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    description: Annotated[str, msgspec.Meta(max_length=4096)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    is_public: bool | msgspec.UnsetType = msgspec.UNSET


class FileOut(msgspec.Struct, kw_only=True):
    id: UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    category: str | None
    tags: list[str]
    description: str | None
    is_public: bool
    version: int
    latest_version: int
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime
    public_url: str | None

    @classmethod
    def of(cls, v: FileView, base_url: str) -> FileOut:
        return cls(
            id=v.id,
            filename=v.filename,
            content_type=v.content_type,
            size=v.size,
            sha256=v.sha256,
            category=v.category,
            tags=v.tags,
            description=v.description,
            is_public=v.is_public,
            version=v.version,
            latest_version=v.latest_version,
            created_by=v.created_by,
            created_at=v.created_at,
            updated_at=v.updated_at,
            public_url=f"{base_url}/api/v1/files/public/{v.id}" if v.is_public else None,
        )


class FilePageOut(msgspec.Struct, kw_only=True):
    items: list[FileOut]
    total: int | None
    page: int | None
    size: int
    next_cursor: str | None


class VersionOut(msgspec.Struct, kw_only=True):
    number: int
    size: int
    sha256: str
    content_type: str
    filename: str
    created_by: UUID | None
    created_at: datetime

    @classmethod
    def of(cls, v: FileVersionView) -> VersionOut:
        return cls(
            number=v.number,
            size=v.size,
            sha256=v.sha256,
            content_type=v.content_type,
            filename=v.filename,
            created_by=v.created_by,
            created_at=v.created_at,
        )


class DownloadOut(msgspec.Struct, kw_only=True):
    url: str
    expires_at: datetime
