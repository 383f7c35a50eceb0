"""Worker-side blob clean-up: released keys, deleted workspaces, strays."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from application.ports.files import BlobReferences, FileStorage
from application.ports.system import Clock
from domain.tenancy.ids import WorkspaceId

# Younger blobs may belong to an upload still streaming or not yet committed.
STRAY_GRACE = timedelta(hours=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseBlobs:
    """Delete these keys (idempotent: deleting twice is fine), or every blob of a
    deleted workspace, or — with neither — every blob no row references."""

    keys: list[str] | None = None
    workspace_id: WorkspaceId | None = None


class ReleaseBlobsHandler:
    def __init__(self, storage: FileStorage, references: BlobReferences, clock: Clock) -> None:
        self._storage = storage
        self._references = references
        self._clock = clock

    async def execute(self, cmd: ReleaseBlobs) -> int:
        if cmd.keys is not None:
            candidates = list(cmd.keys)
        else:
            prefix = f"{cmd.workspace_id}/" if cmd.workspace_id else ""
            cutoff = self._clock.now() - STRAY_GRACE
            candidates = [
                key
                async for key, written in self._storage.keys(prefix)
                if cmd.workspace_id is not None or written < cutoff
            ]
        removed = 0
        for start in range(0, len(candidates), 500):
            batch = candidates[start : start + 500]
            still_used = await self._references.referenced(batch)
            for key in batch:
                if key not in still_used:
                    await self._storage.delete(key)
                    removed += 1
        return removed
