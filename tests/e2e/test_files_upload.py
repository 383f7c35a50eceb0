"""POST /api/v1/files/upload: the contract, and what is refused with nothing kept."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.files_helpers import (  # noqa: F401
    FILES,
    PNG,
    UPLOAD,
    account,
    blobs,
    count_rows,
    files_app,
    files_client,
    files_settings,
    files_storage_root,
    nothing_new_outside,
    upload,
    uploaded,
)
from tests.e2e.helpers import assert_problem

Client = AsyncTestClient[Litestar]


async def test_an_upload_answers_201_with_the_files_description(client: Client) -> None:
    ada = await account(client)
    content = b"quarterly numbers\n" * 40

    response = await upload(
        client,
        ada.auth,
        content=content,
        filename="report.txt",
        content_type="text/plain",
        category="Reports",
        tags="q3, Finance",
        description="The quarterly numbers",
        is_public="true",
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert uuid.UUID(body["id"])
    assert body["filename"] == "report.txt"
    assert body["content_type"] == "text/plain"
    assert body["size"] == len(content)
    assert body["category"] == "reports"
    assert body["tags"] == ["q3", "finance"]
    assert body["description"] == "The quarterly numbers"
    assert body["is_public"] is True
    assert body["version"] == 1
    assert body["created_by"] == ada.id
    assert datetime.fromisoformat(body["created_at"]) == datetime.fromisoformat(body["updated_at"])


async def test_the_sha256_is_that_of_the_bytes_sent(client: Client) -> None:
    ada = await account(client)
    content = bytes(range(256)) * 50  # binary: sent as a zip
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("data.bin", content)
    payload = archive.getvalue()

    body = await uploaded(
        client, ada.auth, content=payload, filename="data.zip", content_type="application/zip"
    )

    assert body["sha256"] == hashlib.sha256(payload).hexdigest()
    assert body["size"] == len(payload)


async def test_repeated_tag_fields_are_all_kept(client: Client) -> None:
    ada = await account(client)
    body = await uploaded(client, ada.auth, tags=["alpha", "beta,gamma", "Alpha"])
    assert body["tags"] == ["alpha", "beta", "gamma"]


async def test_an_upload_without_metadata_gets_the_defaults(client: Client) -> None:
    ada = await account(client)
    body = await uploaded(client, ada.auth)
    assert (body["category"], body["tags"], body["description"], body["is_public"]) == (
        None,
        [],
        None,
        False,
    )


async def test_a_png_with_png_bytes_is_stored_as_an_image(client: Client) -> None:
    ada = await account(client)
    body = await uploaded(
        client, ada.auth, content=PNG, filename="pixel.png", content_type="image/png"
    )
    assert body["content_type"] == "image/png"


async def test_an_upload_is_listed_afterwards(client: Client) -> None:
    ada = await account(client)
    body = await uploaded(client, ada.auth)
    listed = await client.get(f"{FILES}/", headers=ada.auth)
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("filename", "content", "content_type"),
    [
        ("data.json", b'{"name": "ada", "born": 1815}\n', "application/json"),
        ("events.jsonl", b'{"n": 1}\n{"n": 2}\n', "application/x-ndjson"),
        ("feed.xml", b'<?xml version="1.0"?>\n<feed></feed>\n', "application/xml"),
        ("config.yaml", b"---\nname: ada\nborn: 1815\n", "application/yaml"),
        ("saved-mail.txt", b"From: ada@example.com\nSubject: minutes\n\nSee you.\n", "text/plain"),
        ("digits.txt", b"0123456789\n" * 20, "text/plain"),
        ("page.html", b"<!-- generated -->\n<html><body>hi</body></html>\n", "text/html"),
    ],
)
async def test_an_ordinary_text_format_is_accepted(
    client: Client, filename: str, content: bytes, content_type: str
) -> None:
    ada = await account(client)
    response = await upload(
        client, ada.auth, content=content, filename=filename, content_type=content_type
    )
    assert response.status_code == 201, response.text


# -- names ----------------------------------------------------------------------------


async def test_a_traversal_name_is_stored_as_its_last_component(
    client: Client, storage_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ada = await account(client)
    with nothing_new_outside(storage_root, tmp_path_factory.getbasetemp()):
        body = await uploaded(client, ada.auth, filename="../../etc/passwd.txt")
    assert body["filename"] == "passwd.txt"
    assert [p.name for p in blobs(storage_root) if "passwd" in str(p)] == []


async def test_a_non_ascii_name_is_kept_exactly(client: Client) -> None:
    ada = await account(client)
    body = await uploaded(client, ada.auth, filename="résumé 履歴書.txt")
    assert body["filename"] == "résumé 履歴書.txt"


async def test_bidi_override_characters_are_removed_from_the_name(client: Client) -> None:
    ada = await account(client)
    body = await uploaded(client, ada.auth, filename="invoice\u202etxt.exe.txt")
    assert body["filename"] == "invoicetxt.exe.txt"


# -- refused types --------------------------------------------------------------------


async def test_a_png_that_is_really_text_is_refused_with_415(
    client: Client, engine: AsyncEngine, storage_root: Path
) -> None:
    ada = await account(client)
    response = await upload(
        client, ada.auth, content=b"not an image", filename="cat.png", content_type="image/png"
    )
    assert_problem(response, 415, "unsupported_file_type")
    assert await count_rows(engine, "files") == 0
    assert blobs(storage_root) == []


async def test_an_executable_is_refused_with_415(client: Client, storage_root: Path) -> None:
    ada = await account(client)
    response = await upload(
        client,
        ada.auth,
        content=b"MZ\x90\x00" + b"\x00" * 60,
        filename="setup.exe",
        content_type="application/octet-stream",
    )
    assert_problem(response, 415, "unsupported_file_type")
    assert blobs(storage_root) == []


async def test_an_executable_renamed_to_txt_is_refused(client: Client) -> None:
    ada = await account(client)
    response = await upload(
        client, ada.auth, content=b"MZ\x90\x00" + b"\x00" * 60, filename="readme.txt"
    )
    assert_problem(response, 415, "unsupported_file_type")


async def test_a_declared_type_that_disagrees_with_the_name_is_refused(client: Client) -> None:
    ada = await account(client)
    response = await upload(
        client, ada.auth, content=PNG, filename="pixel.png", content_type="text/html"
    )
    assert_problem(response, 415, "unsupported_file_type")


async def test_a_file_without_an_extension_is_refused(client: Client) -> None:
    ada = await account(client)
    response = await upload(client, ada.auth, filename="Makefile")
    assert_problem(response, 415, "unsupported_file_type")


# -- malformed requests ---------------------------------------------------------------


async def test_a_text_field_named_file_holding_a_server_path_is_refused(
    client: Client, engine: AsyncEngine, storage_root: Path
) -> None:
    ada = await account(client)
    response = await client.post(UPLOAD, data={"file": "/etc/passwd"}, headers=ada.auth)
    assert 400 <= response.status_code < 500, response.text
    assert await count_rows(engine, "files") == 0
    assert blobs(storage_root) == []


async def test_a_json_body_is_refused_as_not_multipart(
    client: Client, engine: AsyncEngine, storage_root: Path
) -> None:
    ada = await account(client)
    response = await client.post(
        UPLOAD, json={"file": "/etc/passwd", "filename": "passwd.txt"}, headers=ada.auth
    )
    assert_problem(response, 415, "multipart_required")
    assert await count_rows(engine, "files") == 0
    assert blobs(storage_root) == []


async def test_a_raw_body_is_refused_as_not_multipart(client: Client, storage_root: Path) -> None:
    ada = await account(client)
    response = await client.post(
        UPLOAD, content=b"hello", headers={**ada.auth, "Content-Type": "text/plain"}
    )
    assert_problem(response, 415, "multipart_required")
    assert blobs(storage_root) == []


async def test_an_unknown_multipart_field_is_refused_and_nothing_kept(
    client: Client, engine: AsyncEngine, storage_root: Path
) -> None:
    ada = await account(client)
    response = await upload(client, ada.auth, workspace_id=str(uuid.uuid4()))
    assert_problem(response, 422, "invalid_file_metadata")
    assert await count_rows(engine, "files") == 0
    assert blobs(storage_root) == []


async def test_two_files_in_one_upload_are_refused_and_nothing_kept(
    client: Client, engine: AsyncEngine, storage_root: Path
) -> None:
    ada = await account(client)
    response = await client.post(
        UPLOAD,
        files=[
            ("file", ("a.txt", b"one", "text/plain")),
            ("file", ("b.txt", b"two", "text/plain")),
        ],
        headers=ada.auth,
    )
    assert_problem(response, 422, "invalid_file_metadata")
    assert await count_rows(engine, "files") == 0
    assert blobs(storage_root) == []


async def test_an_is_public_that_is_not_a_boolean_is_refused(
    client: Client, storage_root: Path
) -> None:
    ada = await account(client)
    response = await upload(client, ada.auth, is_public="perhaps")
    assert_problem(response, 422, "invalid_file_metadata")
    assert blobs(storage_root) == []


async def test_an_upload_without_credentials_is_401(client: Client) -> None:
    response = await client.post(UPLOAD, files={"file": ("a.txt", b"x", "text/plain")})
    assert response.status_code == 401
