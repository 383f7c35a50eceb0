from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from application.common.files import (
    FileSettings,
    ReceivedBlob,
    ensure_quota,
    quota_room,
    read_field,
    receive_blob,
    storage_key,
)
from application.common.tenancy import WorkspaceActor
from application.ports.files import (
    ContentSniffer,
    FileReader,
    FileRepository,
    FileStorage,
    UploadPart,
)
from application.ports.system import Clock, IdGenerator
from application.ports.transaction import TransactionManager
from domain.files.errors import InvalidFileMetadata
from domain.files.file import (
    FileVersion,
    StoredFile,
    parse_category,
    parse_description,
    parse_tags,
)
from domain.files.ids import FileId
from domain.tenancy.roles import Permission

FIELDS = frozenset({"category", "tags", "description", "is_public"})


def parse_bool(raw: str | None, field: str) -> bool:
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in {"true", "1", "yes", "on"}:
        return True
    if value in {"false", "0", "no", "off", ""}:
        return False
    raise InvalidFileMetadata(f"{field} must be true or false.", field=field)


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadFile:
    actor: WorkspaceActor
    parts: AsyncIterator[UploadPart]


class UploadFileHandler:
    """Streams the one ``file`` part to storage, then records the file.

    Metadata fields may come before or after the file part. The quota is
    checked while streaming and again, under a per-workspace lock, at commit,
    so concurrent uploads cannot overshoot it. Any failure deletes the blob.
    """

    def __init__(
        self,
        files: FileRepository,
        reader: FileReader,
        storage: FileStorage,
        sniffer: ContentSniffer,
        settings: FileSettings,
        ids: IdGenerator,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._files = files
        self._reader = reader
        self._storage = storage
        self._sniffer = sniffer
        self._settings = settings
        self._ids = ids
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: UploadFile) -> FileId:
        cmd.actor.require(Permission.RESOURCES_WRITE)
        workspace = cmd.actor.workspace_id
        room = await quota_room(self._reader, self._settings, workspace)
        # Nothing is written before the body is in: the database connection is
        # not held while a slow client streams (a pool's worth would stall the API).
        await self._tx.release()
        fields: dict[str, list[str]] = defaultdict(list)
        blob: ReceivedBlob | None = None
        try:
            async for part in cmd.parts:
                if part.name == "file" and part.filename is not None:
                    if blob is not None:
                        raise InvalidFileMetadata("Send one file per upload.", field="file")
                    blob = await receive_blob(
                        part,
                        key=storage_key(workspace, self._ids.new()),
                        storage=self._storage,
                        sniffer=self._sniffer,
                        settings=self._settings,
                        room=room,
                    )
                elif part.name in FIELDS and part.filename is None:
                    fields[part.name].append(await read_field(part))
                else:
                    raise InvalidFileMetadata(f"Unexpected part {part.name!r}.", field=part.name)
            if blob is None:
                raise InvalidFileMetadata(
                    "The upload needs a file part named 'file'.", field="file"
                )
            now = self._clock.now()
            file = StoredFile.upload(
                id=FileId(self._ids.new()),
                workspace_id=workspace,
                version=FileVersion(
                    number=1,
                    storage_key=blob.key,
                    size=blob.size,
                    sha256=blob.sha256,
                    content_type=blob.content_type,
                    filename=blob.filename,
                    created_by=cmd.actor.user_id,
                    created_at=now,
                ),
                category=parse_category(_last(fields, "category")),
                tags=parse_tags(fields.get("tags", [])),
                description=parse_description(_last(fields, "description")),
                is_public=parse_bool(_last(fields, "is_public"), "is_public"),
                now=now,
            )
            await ensure_quota(self._files, self._settings, workspace, blob.size)
            await self._files.add(file)
            await self._tx.commit()
        except BaseException:
            if blob is not None:
                await self._storage.delete(blob.key)
            raise
        return file.id


def _last(fields: dict[str, list[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[-1] if values else None
