from __future__ import annotations

from dataclasses import dataclass

from application.common.files import editable_file
from application.common.tenancy import WorkspaceActor
from application.ports.files import FileRepository
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.files.ids import FileId


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreVersion:
    actor: WorkspaceActor
    file_id: FileId
    number: int


class RestoreVersionHandler:
    def __init__(self, files: FileRepository, clock: Clock, tx: TransactionManager) -> None:
        self._files = files
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: RestoreVersion) -> None:
        file = await editable_file(self._files, cmd.actor, cmd.file_id)
        file.restore(cmd.number, self._clock.now())
        await self._files.save(file)
        await self._tx.commit()
