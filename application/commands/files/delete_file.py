from __future__ import annotations

from dataclasses import dataclass

from application.common.files import editable_file
from application.common.tenancy import WorkspaceActor
from application.ports.files import FileRepository
from application.ports.transaction import TransactionManager
from domain.files.ids import FileId


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteFile:
    actor: WorkspaceActor
    file_id: FileId


class DeleteFileHandler:
    """The rows go now; the blobs through the outbox (BlobsReleased), so a crash
    between the two cannot leave a row pointing at nothing."""

    def __init__(self, files: FileRepository, tx: TransactionManager) -> None:
        self._files = files
        self._tx = tx

    async def execute(self, cmd: DeleteFile) -> None:
        file = await editable_file(self._files, cmd.actor, cmd.file_id)
        file.delete()
        await self._files.save(file)
        await self._tx.commit()
