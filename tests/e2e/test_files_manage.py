"""GET/PATCH/DELETE /api/v1/files/{id} and the versions routes."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.files_helpers import (  # noqa: F401
    FILES,
    PNG,
    Account,
    account,
    add_version,
    count_rows,
    download,
    files_app,
    files_client,
    files_settings,
    files_storage_root,
    uploaded,
)
from tests.e2e.helpers import assert_problem, error_fields

Client = AsyncTestClient[Litestar]


async def show(client: Client, user: Account, file_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{FILES}/{file_id}", params=params, headers=user.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def described(client: Client) -> tuple[Account, dict[str, Any]]:
    ada = await account(client)
    body = await uploaded(
        client,
        ada.auth,
        filename="plan.txt",
        category="plans",
        tags="a,b",
        description="The plan",
    )
    return ada, body


# -- read -----------------------------------------------------------------------------


async def test_a_file_reads_back_as_it_was_uploaded(client: Client) -> None:
    ada, body = await described(client)
    assert await show(client, ada, body["id"]) == body


async def test_an_unknown_file_is_404(client: Client) -> None:
    ada = await account(client)
    response = await client.get(f"{FILES}/{uuid.uuid4()}", headers=ada.auth)
    assert_problem(response, 404, "file_not_found")


# -- update ---------------------------------------------------------------------------


async def test_patch_changes_the_given_fields(client: Client) -> None:
    ada, body = await described(client)
    response = await client.patch(
        f"{FILES}/{body['id']}",
        json={"description": "Revised", "tags": ["Final", "b"], "is_public": True},
        headers=ada.auth,
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert (after["description"], after["tags"], after["is_public"]) == (
        "Revised",
        ["final", "b"],
        True,
    )
    assert (after["category"], after["filename"]) == ("plans", "plan.txt")
    assert after["updated_at"] > body["updated_at"]
    assert await show(client, ada, body["id"]) == after


async def test_patch_renames_with_a_sanitized_name(client: Client) -> None:
    ada, body = await described(client)
    response = await client.patch(
        f"{FILES}/{body['id']}", json={"filename": "../../new name.txt"}, headers=ada.auth
    )
    assert response.json()["filename"] == "new name.txt"


async def test_patch_with_null_clears_category_and_description(client: Client) -> None:
    ada, body = await described(client)
    response = await client.patch(
        f"{FILES}/{body['id']}", json={"category": None, "description": None}, headers=ada.auth
    )
    assert (response.json()["category"], response.json()["description"]) == (None, None)


async def test_a_public_file_gets_a_public_url(client: Client) -> None:
    ada, body = await described(client)
    assert body["public_url"] is None
    response = await client.patch(
        f"{FILES}/{body['id']}", json={"is_public": True}, headers=ada.auth
    )
    assert response.json()["public_url"].endswith(f"/api/v1/files/public/{body['id']}")


async def test_patch_with_an_unknown_field_is_422_and_changes_nothing(client: Client) -> None:
    ada, body = await described(client)
    response = await client.patch(
        f"{FILES}/{body['id']}", json={"description": "x", "colour": "red"}, headers=ada.auth
    )
    problem = assert_problem(response, 422, "validation_error")
    assert "colour" in error_fields(problem)
    assert await show(client, ada, body["id"]) == body


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("workspace_id", str(uuid.uuid4())),
        ("created_by", str(uuid.uuid4())),
        ("size", 1),
        ("sha256", "0" * 64),
        ("content_type", "text/html"),
        ("version", 7),
        ("id", str(uuid.uuid4())),
        ("created_at", "2000-01-01T00:00:00Z"),
    ],
)
async def test_patch_refuses_mass_assignment(client: Client, field: str, value: Any) -> None:
    ada, body = await described(client)
    response = await client.patch(
        f"{FILES}/{body['id']}", json={"description": "x", field: value}, headers=ada.auth
    )
    problem = assert_problem(response, 422, "validation_error")
    assert field in error_fields(problem)
    assert await show(client, ada, body["id"]) == body


async def test_patch_with_invalid_tags_is_422_and_changes_nothing(client: Client) -> None:
    ada, body = await described(client)
    response = await client.patch(
        f"{FILES}/{body['id']}",
        json={"description": "x", "tags": ["ok", "x" * 65]},
        headers=ada.auth,
    )
    assert_problem(response, 422, "invalid_file_metadata")
    assert await show(client, ada, body["id"]) == body


# -- delete ---------------------------------------------------------------------------


async def test_delete_is_204_and_the_file_is_gone(client: Client) -> None:
    ada, body = await described(client)
    response = await client.delete(f"{FILES}/{body['id']}", headers=ada.auth)
    assert response.status_code == 204, response.text
    gone = await client.get(f"{FILES}/{body['id']}", headers=ada.auth)
    assert_problem(gone, 404, "file_not_found")


async def test_delete_removes_the_rows_at_once(client: Client, engine: AsyncEngine) -> None:
    ada, body = await described(client)
    await add_version(client, ada.auth, body["id"], b"second")
    await client.delete(f"{FILES}/{body['id']}", headers=ada.auth)
    assert await count_rows(engine, "files", id=body["id"]) == 0
    assert await count_rows(engine, "file_versions", file_id=body["id"]) == 0


async def test_deleting_twice_is_404_the_second_time(client: Client) -> None:
    ada, body = await described(client)
    await client.delete(f"{FILES}/{body['id']}", headers=ada.auth)
    response = await client.delete(f"{FILES}/{body['id']}", headers=ada.auth)
    assert_problem(response, 404, "file_not_found")


# -- versions -------------------------------------------------------------------------


async def test_a_new_version_becomes_the_current_one(client: Client) -> None:
    ada, body = await described(client)
    response = await add_version(
        client, ada.auth, body["id"], PNG, filename="plan.png", content_type="image/png"
    )
    assert response.status_code == 201, response.text
    after = response.json()
    assert (after["version"], after["latest_version"]) == (2, 2)
    assert (after["filename"], after["content_type"]) == ("plan.png", "image/png")
    assert after["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert await show(client, ada, body["id"]) == after


async def test_a_new_version_keeps_the_files_metadata(client: Client) -> None:
    ada, body = await described(client)
    after = (await add_version(client, ada.auth, body["id"], b"second")).json()
    assert (after["category"], after["tags"], after["description"]) == (
        "plans",
        ["a", "b"],
        "The plan",
    )


async def test_the_versions_are_listed_in_order(client: Client) -> None:
    ada, body = await described(client)
    await add_version(client, ada.auth, body["id"], b"second version")
    response = await client.get(f"{FILES}/{body['id']}/versions", headers=ada.auth)
    assert response.status_code == 200, response.text
    versions = response.json()
    assert [v["number"] for v in versions] == [1, 2]
    assert [v["sha256"] for v in versions] == [
        body["sha256"],
        hashlib.sha256(b"second version").hexdigest(),
    ]
    assert [v["size"] for v in versions] == [body["size"], len(b"second version")]


async def test_an_earlier_version_can_be_read(client: Client) -> None:
    ada, body = await described(client)
    await add_version(client, ada.auth, body["id"], b"second version")
    first = await show(client, ada, body["id"], version=1)
    assert (first["version"], first["latest_version"]) == (1, 2)
    assert (first["sha256"], first["size"]) == (body["sha256"], body["size"])


async def test_an_earlier_version_is_shown_under_its_own_name_and_type(client: Client) -> None:
    ada, body = await described(client)
    await add_version(
        client, ada.auth, body["id"], PNG, filename="plan.png", content_type="image/png"
    )
    first = await show(client, ada, body["id"], version=1)
    assert (first["filename"], first["content_type"]) == ("plan.txt", "text/plain")


async def test_a_version_that_does_not_exist_is_404(client: Client) -> None:
    ada, body = await described(client)
    response = await client.get(f"{FILES}/{body['id']}", params={"version": 2}, headers=ada.auth)
    assert response.status_code == 404, response.text


async def test_restoring_makes_an_earlier_version_current_again(client: Client) -> None:
    ada, body = await described(client)
    await add_version(client, ada.auth, body["id"], b"second version")
    response = await client.post(f"{FILES}/{body['id']}/versions/1/restore", headers=ada.auth)
    assert response.status_code == 200, response.text
    restored = response.json()
    assert (restored["version"], restored["latest_version"]) == (1, 2)
    assert restored["sha256"] == body["sha256"]
    assert (await download(client, ada.auth, body["id"])).content == b"hello world\n"


async def test_restoring_keeps_every_version(client: Client) -> None:
    ada, body = await described(client)
    await add_version(client, ada.auth, body["id"], b"second version")
    await client.post(f"{FILES}/{body['id']}/versions/1/restore", headers=ada.auth)
    versions = (await client.get(f"{FILES}/{body['id']}/versions", headers=ada.auth)).json()
    assert [v["number"] for v in versions] == [1, 2]


async def test_a_version_added_after_a_restore_is_numbered_after_the_highest(
    client: Client,
) -> None:
    ada, body = await described(client)
    await add_version(client, ada.auth, body["id"], b"second version")
    await client.post(f"{FILES}/{body['id']}/versions/1/restore", headers=ada.auth)
    third = await add_version(client, ada.auth, body["id"], b"third version")
    assert (third.json()["version"], third.json()["latest_version"]) == (3, 3)


async def test_restoring_a_missing_version_is_404(client: Client) -> None:
    ada, body = await described(client)
    response = await client.post(f"{FILES}/{body['id']}/versions/5/restore", headers=ada.auth)
    assert_problem(response, 404, "version_not_found")


async def test_a_new_version_of_a_refused_type_is_415_and_changes_nothing(
    client: Client,
) -> None:
    ada, body = await described(client)
    response = await add_version(
        client, ada.auth, body["id"], b"text", filename="x.png", content_type="image/png"
    )
    assert_problem(response, 415, "unsupported_file_type")
    assert await show(client, ada, body["id"]) == body


async def test_an_earlier_version_downloads_its_own_bytes(client: Client) -> None:
    ada, body = await described(client)
    await add_version(client, ada.auth, body["id"], b"second version")
    assert (await download(client, ada.auth, body["id"], version=1)).content == b"hello world\n"
    assert (await download(client, ada.auth, body["id"])).content == b"second version"
