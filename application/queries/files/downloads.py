from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from application.common.files import FileSettings
from application.common.tenancy import WorkspaceActor
from application.ports.files import FileReader, FileView, UrlSigner
from application.ports.system import Clock
from domain.files.errors import FileNotFound, InvalidSignature
from domain.files.ids import FileId
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Permission


def download_message(file_id: FileId, version: int, workspace_id: WorkspaceId, expires: int) -> str:
    """What a download link's signature covers: method, file, version, workspace, expiry."""
    return f"GET\n{file_id}\n{version}\n{workspace_id}\n{expires}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class GetDownloadLink:
    actor: WorkspaceActor
    file_id: FileId
    version: int | None = None


class GetDownloadLinkHandler:
    def __init__(
        self, files: FileReader, signer: UrlSigner, settings: FileSettings, clock: Clock
    ) -> None:
        self._files = files
        self._signer = signer
        self._settings = settings
        self._clock = clock

    async def execute(self, q: GetDownloadLink) -> DownloadLink:
        q.actor.require(Permission.RESOURCES_READ)
        view = await self._files.get(q.actor.workspace_id, q.file_id, q.version)
        if view is None:
            raise FileNotFound
        expires_at = self._clock.now() + timedelta(seconds=self._settings.url_ttl_seconds)
        expires = int(expires_at.timestamp())
        signature = self._signer.sign(
            download_message(q.file_id, view.version, q.actor.workspace_id, expires)
        )
        query = urlencode(
            {"ws": str(q.actor.workspace_id), "v": view.version, "exp": expires, "sig": signature}
        )
        return DownloadLink(
            url=f"{self._settings.public_url}/api/v1/files/{q.file_id}/content?{query}",
            expires_at=expires_at.replace(microsecond=0),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenSignedDownload:
    file_id: FileId
    workspace_id: WorkspaceId
    version: int
    expires: int
    signature: str


class OpenSignedDownloadHandler:
    """The file a signed link names, if the signature holds and has not expired."""

    def __init__(self, files: FileReader, signer: UrlSigner, clock: Clock) -> None:
        self._files = files
        self._signer = signer
        self._clock = clock

    async def execute(self, q: OpenSignedDownload) -> FileView:
        message = download_message(q.file_id, q.version, q.workspace_id, q.expires)
        if not self._signer.verify(message, q.signature):
            raise InvalidSignature("The download link is not valid.")
        if self._clock.now().timestamp() > q.expires:
            raise InvalidSignature("The download link has expired.")
        view = await self._files.get(q.workspace_id, q.file_id, q.version)
        if view is None:
            raise FileNotFound
        return view


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenPublicFile:
    file_id: FileId


class OpenPublicFileHandler:
    def __init__(self, files: FileReader) -> None:
        self._files = files

    async def execute(self, q: OpenPublicFile) -> FileView:
        view = await self._files.public(q.file_id)
        if view is None:
            raise FileNotFound
        return view
