"""A stored file: metadata, tags, and its versions (each a blob in storage)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from domain.common.events import Aggregate, DomainEvent
from domain.files.errors import InvalidFileMetadata, VersionNotFound
from domain.files.ids import FileId
from domain.files.names import sanitize_filename
from domain.identity.ids import UserId
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role

MAX_TAGS = 32
MAX_TAG_LENGTH = 64
MAX_DESCRIPTION_LENGTH = 2_000
MAX_CATEGORY_LENGTH = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobsReleased(DomainEvent):
    """Storage keys no row references any more: the worker deletes the blobs."""

    topic = "files.blobs_released"
    keys: list[str]


def parse_tags(raw: list[str]) -> list[str]:
    """Comma-separated or repeated; trimmed, lower-cased, de-duplicated, order kept."""
    tags: list[str] = []
    for part in (piece for value in raw for piece in value.split(",")):
        tag = unicodedata.normalize("NFC", part).strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH or any(unicodedata.category(c)[0] == "C" for c in tag):
            raise InvalidFileMetadata(
                f"Tags are at most {MAX_TAG_LENGTH} printable characters.", field="tags"
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidFileMetadata(f"At most {MAX_TAGS} tags.", field="tags")
    return tags


def parse_category(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = unicodedata.normalize("NFC", raw).strip().lower()
    if not text:
        return None
    if len(text) > MAX_CATEGORY_LENGTH or any(unicodedata.category(c)[0] == "C" for c in text):
        raise InvalidFileMetadata(
            f"The category is at most {MAX_CATEGORY_LENGTH} printable characters.",
            field="category",
        )
    return text


def parse_description(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = unicodedata.normalize("NFC", raw).strip()
    if len(text) > MAX_DESCRIPTION_LENGTH:
        raise InvalidFileMetadata(
            f"The description is at most {MAX_DESCRIPTION_LENGTH} characters.",
            field="description",
        )
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise InvalidFileMetadata(
            "The description must not contain control characters.", field="description"
        )
    return text or None


@dataclass(frozen=True, slots=True, kw_only=True)
class FileVersion:
    number: int
    storage_key: str
    size: int
    sha256: str
    content_type: str
    filename: str
    created_by: UserId
    created_at: datetime


@dataclass(kw_only=True, eq=False)
class StoredFile(Aggregate):
    id: FileId
    workspace_id: WorkspaceId
    filename: str
    category: str | None
    tags: list[str]
    description: str | None
    is_public: bool
    created_by: UserId
    created_at: datetime
    updated_at: datetime
    current_version: int
    versions: list[FileVersion] = field(default_factory=list)
    deleted: bool = False

    @classmethod
    def upload(
        cls,
        *,
        id: FileId,
        workspace_id: WorkspaceId,
        version: FileVersion,
        category: str | None,
        tags: list[str],
        description: str | None,
        is_public: bool,
        now: datetime,
    ) -> StoredFile:
        return cls(
            id=id,
            workspace_id=workspace_id,
            filename=version.filename,
            category=category,
            tags=tags,
            description=description,
            is_public=is_public,
            created_by=version.created_by,
            created_at=now,
            updated_at=now,
            current_version=version.number,
            versions=[version],
        )

    def ensure_editable_by(self, user: UserId, role: Role) -> None:
        ensure_may_edit(self.created_by, user, role)

    @property
    def latest(self) -> FileVersion:
        return self.version(self.current_version)

    @property
    def next_version_number(self) -> int:
        return max(v.number for v in self.versions) + 1

    def version(self, number: int) -> FileVersion:
        for version in self.versions:
            if version.number == number:
                return version
        raise VersionNotFound

    def add_version(self, version: FileVersion, now: datetime) -> None:
        self.versions.append(version)
        self.current_version = version.number
        self.filename = version.filename
        self.updated_at = now

    def restore(self, number: int, now: datetime) -> None:
        """The chosen version becomes the current one again; no version is lost."""
        version = self.version(number)
        self.current_version = number
        self.filename = version.filename
        self.updated_at = now

    def update(
        self,
        now: datetime,
        *,
        filename: str | None = None,
        category: str | None = None,
        tags: list[str] | None = None,
        description: str | None = None,
        is_public: bool | None = None,
        clear: frozenset[str] = frozenset(),
    ) -> None:
        if filename is not None:
            self.filename = sanitize_filename(filename)
        if category is not None or "category" in clear:
            self.category = category
        if tags is not None:
            self.tags = tags
        if description is not None or "description" in clear:
            self.description = description
        if is_public is not None:
            self.is_public = is_public
        self.updated_at = now

    @property
    def total_size(self) -> int:
        return sum(v.size for v in self.versions)

    def delete(self) -> None:
        self.deleted = True
        self.record(BlobsReleased(keys=[v.storage_key for v in self.versions]))


def ensure_may_edit(uploader: UUID | None, user: UUID, role: Role) -> None:
    """Members edit the files they uploaded; admins and the owner edit any."""
    if role.at_least(Role.ADMIN) or (role.at_least(Role.MEMBER) and user == uploader):
        return
    raise InsufficientRole("Only its uploader or an admin can change this file.")
