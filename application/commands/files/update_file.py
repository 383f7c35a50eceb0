from __future__ import annotations

from dataclasses import dataclass, field

from application.common.files import editable_file
from application.common.tenancy import WorkspaceActor
from application.ports.files import FileRepository
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.files.file import parse_category, parse_description, parse_tags
from domain.files.ids import FileId


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateFile:
    """Only the given fields change; ``clear`` names the ones set to null."""

    actor: WorkspaceActor
    file_id: FileId
    filename: str | None = None
    category: str | None = None
    tags: list[str] | None = None
    description: str | None = None
    is_public: bool | None = None
    clear: frozenset[str] = field(default_factory=frozenset)


class UpdateFileHandler:
    def __init__(self, files: FileRepository, clock: Clock, tx: TransactionManager) -> None:
        self._files = files
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: UpdateFile) -> None:
        file = await editable_file(self._files, cmd.actor, cmd.file_id)
        file.update(
            self._clock.now(),
            filename=cmd.filename,
            category=parse_category(cmd.category),
            tags=parse_tags(cmd.tags) if cmd.tags is not None else None,
            description=parse_description(cmd.description),
            is_public=cmd.is_public,
            clear=cmd.clear,
        )
        await self._files.save(file)
        await self._tx.commit()
