from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from application.common.files import (
    FileSettings,
    ReceivedBlob,
    ensure_quota,
    quota_room,
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
from domain.files.errors import FileNotFound, InvalidFileMetadata
from domain.files.file import FileVersion, ensure_may_edit
from domain.files.ids import FileId
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class AddFileVersion:
    actor: WorkspaceActor
    file_id: FileId
    parts: AsyncIterator[UploadPart]


class AddFileVersionHandler:
    """A new version becomes the current one; earlier ones stay restorable."""

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

    async def execute(self, cmd: AddFileVersion) -> int:
        cmd.actor.require(Permission.RESOURCES_WRITE)
        workspace = cmd.actor.workspace_id
        current = await self._reader.get(workspace, cmd.file_id)
        if current is None:
            raise FileNotFound
        ensure_may_edit(current.created_by, cmd.actor.user_id, cmd.actor.role)  # before the body
        room = await quota_room(self._reader, self._settings, workspace)
        # Nothing is written before the body is in: the database connection is
        # not held while a slow client streams (a pool's worth would stall the API).
        await self._tx.release()
        blob: ReceivedBlob | None = None
        try:
            async for part in cmd.parts:
                if part.name != "file" or part.filename is None or blob is not None:
                    raise InvalidFileMetadata(
                        "Send exactly one part, a file named 'file'.", field=part.name
                    )
                blob = await receive_blob(
                    part,
                    key=storage_key(workspace, self._ids.new()),
                    storage=self._storage,
                    sniffer=self._sniffer,
                    settings=self._settings,
                    room=room,
                )
            if blob is None:
                raise InvalidFileMetadata(
                    "The upload needs a file part named 'file'.", field="file"
                )
            await ensure_quota(self._files, self._settings, workspace, blob.size)
            file = await self._files.get(workspace, cmd.file_id)
            if file is None:
                raise FileNotFound
            file.ensure_editable_by(cmd.actor.user_id, cmd.actor.role)
            now = self._clock.now()
            number = file.next_version_number
            file.add_version(
                FileVersion(
                    number=number,
                    storage_key=blob.key,
                    size=blob.size,
                    sha256=blob.sha256,
                    content_type=blob.content_type,
                    filename=blob.filename,
                    created_by=cmd.actor.user_id,
                    created_at=now,
                ),
                now,
            )
            await self._files.save(file)
            await self._tx.commit()
        except BaseException:
            if blob is not None:
                await self._storage.delete(blob.key)
            raise
        return number
