"""The StoredFile aggregate: versions, restore, metadata edits, deletion and
who may change it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.files.errors import InvalidFilename, VersionNotFound
from domain.files.file import BlobsReleased, FileVersion, StoredFile
from domain.files.ids import FileId
from domain.identity.ids import UserId
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
UPLOADER = UserId(UUID(int=1))
SOMEONE_ELSE = UserId(UUID(int=2))
WORKSPACE = WorkspaceId(UUID(int=100))


def version(number: int, filename: str = "notes.txt", size: int = 10) -> FileVersion:
    return FileVersion(
        number=number,
        storage_key=f"{WORKSPACE}/blob-{number}",
        size=size,
        sha256=f"{number:064x}",
        content_type="text/plain",
        filename=filename,
        created_by=UPLOADER,
        created_at=T0 + timedelta(minutes=number),
    )


def uploaded(**changes: object) -> StoredFile:
    values: dict[str, object] = {
        "id": FileId(UUID(int=7)),
        "workspace_id": WORKSPACE,
        "version": version(1),
        "category": "reports",
        "tags": ["q3"],
        "description": "Quarterly notes",
        "is_public": False,
        "now": T0,
    }
    values.update(changes)
    return StoredFile.upload(**values)  # type: ignore[arg-type]


# -- upload and versions --------------------------------------------------------------


def test_an_upload_starts_at_version_one_named_after_it() -> None:
    file = uploaded(version=version(1, "first.txt"))
    assert (file.current_version, file.filename, file.created_by) == (1, "first.txt", UPLOADER)
    assert file.created_at == file.updated_at == T0


def test_a_new_version_becomes_the_current_one() -> None:
    file = uploaded()
    file.add_version(version(2, "second.txt"), T0 + timedelta(hours=1))
    assert file.current_version == 2
    assert file.latest.storage_key.endswith("blob-2")
    assert file.filename == "second.txt"
    assert file.updated_at == T0 + timedelta(hours=1)


def test_adding_a_version_keeps_the_earlier_ones() -> None:
    file = uploaded()
    file.add_version(version(2), T0)
    file.add_version(version(3), T0)
    assert [v.number for v in file.versions] == [1, 2, 3]


def test_restoring_makes_an_earlier_version_current_without_losing_any() -> None:
    file = uploaded(version=version(1, "first.txt"))
    file.add_version(version(2, "second.txt"), T0)
    file.restore(1, T0 + timedelta(days=1))
    assert file.current_version == 1
    assert file.filename == "first.txt"
    assert [v.number for v in file.versions] == [1, 2]
    assert file.updated_at == T0 + timedelta(days=1)


def test_after_a_restore_the_next_version_number_still_follows_the_highest() -> None:
    file = uploaded()
    file.add_version(version(2), T0)
    file.restore(1, T0)
    assert file.next_version_number == 3


def test_restoring_a_version_that_does_not_exist_is_refused() -> None:
    file = uploaded()
    with pytest.raises(VersionNotFound):
        file.restore(2, T0)
    assert file.current_version == 1


def test_the_total_size_counts_every_version() -> None:
    file = uploaded(version=version(1, size=100))
    file.add_version(version(2, size=250), T0)
    assert file.total_size == 350


# -- metadata -------------------------------------------------------------------------


def test_an_update_changes_only_the_given_fields() -> None:
    file = uploaded()
    file.update(T0 + timedelta(minutes=5), tags=["new"])
    assert file.tags == ["new"]
    assert (file.category, file.description, file.is_public) == (
        "reports",
        "Quarterly notes",
        False,
    )
    assert file.updated_at == T0 + timedelta(minutes=5)


def test_an_update_can_clear_category_and_description() -> None:
    file = uploaded()
    file.update(T0, clear=frozenset({"category", "description"}))
    assert file.category is None
    assert file.description is None


def test_a_renamed_file_gets_a_sanitized_name() -> None:
    file = uploaded()
    file.update(T0, filename="../../secret/plan.txt")
    assert file.filename == "plan.txt"


def test_a_rename_to_nothing_is_refused() -> None:
    file = uploaded()
    with pytest.raises(InvalidFilename):
        file.update(T0, filename="../..")


def test_a_file_can_be_made_public_and_private_again() -> None:
    file = uploaded()
    file.update(T0, is_public=True)
    assert file.is_public
    file.update(T0, is_public=False)
    assert not file.is_public


# -- deletion -------------------------------------------------------------------------


def test_deleting_releases_the_blob_of_every_version() -> None:
    file = uploaded()
    file.add_version(version(2), T0)
    file.add_version(version(3), T0)
    file.restore(1, T0)
    file.delete()
    assert file.deleted
    assert file.pull_events() == [
        BlobsReleased(keys=[f"{WORKSPACE}/blob-1", f"{WORKSPACE}/blob-2", f"{WORKSPACE}/blob-3"])
    ]


def test_no_blob_is_released_before_the_file_is_deleted() -> None:
    file = uploaded()
    file.add_version(version(2), T0)
    file.update(T0, description="changed")
    file.restore(1, T0)
    assert file.pull_events() == []


# -- who may change it ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "own", "allowed"),
    [
        (Role.MEMBER, True, True),
        (Role.MEMBER, False, False),
        (Role.ADMIN, True, True),
        (Role.ADMIN, False, True),
        (Role.OWNER, False, True),
        (Role.VIEWER, True, False),
        (Role.VIEWER, False, False),
    ],
)
def test_members_edit_their_own_files_admins_any_viewers_none(
    role: Role, own: bool, allowed: bool
) -> None:
    file = uploaded()
    user = UPLOADER if own else SOMEONE_ELSE
    if allowed:
        file.ensure_editable_by(user, role)
    else:
        with pytest.raises(InsufficientRole):
            file.ensure_editable_by(user, role)
