"""The files handlers wired to in-memory fakes, one request at a time."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from application.commands.files.add_version import AddFileVersion, AddFileVersionHandler
from application.commands.files.delete_file import DeleteFile, DeleteFileHandler
from application.commands.files.release_blobs import ReleaseBlobs, ReleaseBlobsHandler
from application.commands.files.restore_version import RestoreVersion, RestoreVersionHandler
from application.commands.files.update_file import UpdateFile, UpdateFileHandler
from application.commands.files.upload_file import UploadFile, UploadFileHandler
from application.common.files import FileSettings
from application.common.tenancy import WorkspaceActor
from application.ports.files import FileView, UploadPart
from domain.files.ids import FileId
from domain.identity.ids import UserId
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role, permissions_of
from tests.fakes.system import FakeClock, SequentialIds
from tests.fakes.transaction import FakeUnitOfWork
from tests.unit.files.fakes import (
    MemoryFiles,
    MemoryReader,
    MemoryStorage,
    PrefixSniffer,
    file_part,
    parts_of,
)

T = TypeVar("T")

ALLOWED = frozenset({"txt", "csv", "png", "pdf", "html", "docx", "zip", "json"})


def file_settings(**changes: object) -> FileSettings:
    values: dict[str, object] = {
        "max_upload_bytes": 1_000,
        "workspace_quota_bytes": 5_000,
        "allowed_extensions": ALLOWED,
        "url_ttl_seconds": 900,
        "public_url": "https://files.example.test",
    }
    values.update(changes)
    return FileSettings(**values)  # type: ignore[arg-type]


class World:
    def __init__(self, **settings: object) -> None:
        self.clock = FakeClock()
        self.ids = SequentialIds()
        self.uow = FakeUnitOfWork()
        self.storage = MemoryStorage(self.clock)
        self.sniffer = PrefixSniffer()
        self.files = MemoryFiles(self.uow)
        self.reader = MemoryReader(self.files)
        self.settings = file_settings(**settings)
        self.workspace = WorkspaceId(self.ids.new())
        self.other_workspace = WorkspaceId(self.ids.new())

    def actor(
        self,
        role: Role = Role.MEMBER,
        user: UserId | None = None,
        workspace: WorkspaceId | None = None,
    ) -> WorkspaceActor:
        return WorkspaceActor(
            workspace_id=workspace or self.workspace,
            user_id=user or UserId(self.ids.new()),
            role=role,
            permissions=permissions_of(role),
        )

    async def request(self, work: Awaitable[T]) -> T:
        """One request: what it did not commit is rolled back when it ends."""
        try:
            return await work
        finally:
            self.uow.rollback()

    # -- handlers -----------------------------------------------------------------

    def uploader(self) -> UploadFileHandler:
        return UploadFileHandler(
            self.files,
            self.reader,
            self.storage,
            self.sniffer,
            self.settings,
            self.ids,
            self.clock,
            self.uow,
        )

    def version_adder(self) -> AddFileVersionHandler:
        return AddFileVersionHandler(
            self.files,
            self.reader,
            self.storage,
            self.sniffer,
            self.settings,
            self.ids,
            self.clock,
            self.uow,
        )

    async def upload(self, actor: WorkspaceActor, *parts: UploadPart) -> FileId:
        parts = parts or (file_part(b"hello"),)
        return await self.request(
            self.uploader().execute(UploadFile(actor=actor, parts=parts_of(*parts)))
        )

    async def add_version(self, actor: WorkspaceActor, file_id: FileId, *parts: UploadPart) -> int:
        return await self.request(
            self.version_adder().execute(
                AddFileVersion(actor=actor, file_id=file_id, parts=parts_of(*parts))
            )
        )

    async def update(self, cmd: UpdateFile) -> None:
        await self.request(UpdateFileHandler(self.files, self.clock, self.uow).execute(cmd))

    async def restore(self, actor: WorkspaceActor, file_id: FileId, number: int) -> None:
        await self.request(
            RestoreVersionHandler(self.files, self.clock, self.uow).execute(
                RestoreVersion(actor=actor, file_id=file_id, number=number)
            )
        )

    async def delete(self, actor: WorkspaceActor, file_id: FileId) -> None:
        await self.request(
            DeleteFileHandler(self.files, self.uow).execute(
                DeleteFile(actor=actor, file_id=file_id)
            )
        )

    async def release(self, cmd: ReleaseBlobs) -> int:
        return await ReleaseBlobsHandler(self.storage, self.files, self.clock).execute(cmd)

    async def view(self, file_id: FileId, version: int | None = None) -> FileView:
        found = await self.reader.get(self.workspace, file_id, version)
        assert found is not None
        return found
