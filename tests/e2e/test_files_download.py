"""Signed download links and what fetching them sends: exact bytes, ranges,
validators and headers that keep a browser from running the content."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.security.signing import HmacUrlSigner
from application.queries.files.downloads import download_message
from domain.files.ids import FileId
from domain.tenancy.ids import WorkspaceId
from entrypoints.config import Settings
from tests.e2e.files_helpers import (  # noqa: F401
    FILES,
    PNG,
    Account,
    account,
    add_version,
    content_url,
    download,
    download_link,
    files_app,
    files_client,
    files_settings,
    files_storage_root,
    link_query,
    local,
    uploaded,
)
from tests.e2e.helpers import assert_problem

Client = AsyncTestClient[Litestar]
TEXT = b"".join(b"The quick brown fox jumps over the lazy dog, line %03d.\n" % i for i in range(30))


async def stored(
    client: Client, content: bytes = TEXT, **kw: Any
) -> tuple[Account, dict[str, Any], bytes]:
    ada = await account(client)
    body = await uploaded(client, ada.auth, content=content, **kw)
    return ada, body, content


# -- the link -------------------------------------------------------------------------


async def test_a_download_link_expires_after_the_configured_ttl(
    client: Client, settings: Settings
) -> None:
    ada, body, _ = await stored(client)
    before = int(time.time())
    response = await client.get(f"{FILES}/{body['id']}/download", headers=ada.auth)
    assert response.status_code == 200, response.text
    link = response.json()
    expires_at = datetime.fromisoformat(link["expires_at"])
    assert expires_at.tzinfo is not None
    assert before + settings.file_url_ttl_seconds - 2 <= expires_at.timestamp()
    assert expires_at.timestamp() <= time.time() + settings.file_url_ttl_seconds + 1
    assert int(link_query(link["url"])["exp"]) == int(expires_at.timestamp())


async def test_a_download_link_needs_credentials(client: Client) -> None:
    _, body, _ = await stored(client)
    response = await client.get(f"{FILES}/{body['id']}/download")
    assert response.status_code == 401


async def test_a_link_to_an_unknown_file_is_404(client: Client) -> None:
    ada = await account(client)
    response = await client.get(f"{FILES}/{uuid.uuid4()}/download", headers=ada.auth)
    assert_problem(response, 404, "file_not_found")


# -- the content ----------------------------------------------------------------------


async def test_the_link_streams_exactly_the_stored_bytes(client: Client) -> None:
    ada, body, content = await stored(client)
    response = await download(client, ada.auth, body["id"])
    assert response.status_code == 200
    assert response.content == content
    assert hashlib.sha256(response.content).hexdigest() == body["sha256"]
    assert response.headers["content-length"] == str(len(content))


async def test_a_binary_file_comes_back_byte_for_byte(client: Client) -> None:
    ada = await account(client)
    body = await uploaded(
        client, ada.auth, content=PNG, filename="pixel.png", content_type="image/png"
    )
    response = await download(client, ada.auth, body["id"])
    assert response.content == PNG
    assert response.headers["content-type"].startswith("image/png")


async def test_the_link_needs_no_credentials(client: Client) -> None:
    ada, body, content = await stored(client)
    url = local(await download_link(client, ada.auth, body["id"]))
    response = await client.get(url)
    assert "authorization" not in response.request.headers
    assert response.content == content


async def test_the_content_is_sent_as_an_attachment_with_nosniff(client: Client) -> None:
    ada, body, _ = await stored(client)
    response = await download(client, ada.auth, body["id"])
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert 'filename="notes.txt"' in response.headers["content-disposition"]


async def test_a_non_ascii_name_is_sent_as_rfc_6266_filename_star(client: Client) -> None:
    name = "résumé 履歴書.txt"
    ada, body, _ = await stored(client, filename=name)
    disposition = (await download(client, ada.auth, body["id"])).headers["content-disposition"]
    star = disposition.split("filename*=")[1]
    assert star.startswith("UTF-8''")
    assert unquote(star.removeprefix("UTF-8''")) == name
    fallback = disposition.split('filename="')[1].split('"')[0]
    assert fallback.isascii()
    assert fallback.endswith(".txt")


@pytest.mark.parametrize(
    ("filename", "content", "declared"),
    [
        ("page.html", b"<html><body><script>alert(1)</script></body></html>", "text/html"),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
    ],
)
async def test_active_content_is_served_as_an_octet_stream_attachment(
    client: Client, filename: str, content: bytes, declared: str
) -> None:
    ada = await account(client)
    body = await uploaded(
        client, ada.auth, content=content, filename=filename, content_type=declared
    )
    assert body["content_type"] == declared
    response = await download(client, ada.auth, body["id"])
    assert response.headers["content-type"].split(";")[0] == "application/octet-stream"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == content


async def test_an_earlier_version_downloads_under_its_own_name(client: Client) -> None:
    ada, body, _ = await stored(client, filename="plan.txt")
    await add_version(
        client, ada.auth, body["id"], PNG, filename="plan.png", content_type="image/png"
    )
    response = await download(client, ada.auth, body["id"], version=1)
    assert response.headers["content-type"].startswith("text/plain")
    assert 'filename="plan.txt"' in response.headers["content-disposition"]


# -- ranges ---------------------------------------------------------------------------


async def test_a_range_is_answered_with_206_and_those_bytes(client: Client) -> None:
    ada, body, content = await stored(client)
    response = await download(client, ada.auth, body["id"], headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.content == content[10:20]
    assert response.headers["content-range"] == f"bytes 10-19/{len(content)}"
    assert response.headers["content-length"] == "10"


async def test_an_open_ended_range_runs_to_the_end(client: Client) -> None:
    ada, body, content = await stored(client)
    response = await download(client, ada.auth, body["id"], headers={"Range": "bytes=1000-"})
    assert response.status_code == 206
    assert response.content == content[1000:]
    assert response.headers["content-range"] == f"bytes 1000-{len(content) - 1}/{len(content)}"


async def test_a_suffix_range_sends_the_last_bytes(client: Client) -> None:
    ada, body, content = await stored(client)
    response = await download(client, ada.auth, body["id"], headers={"Range": "bytes=-7"})
    assert response.status_code == 206
    assert response.content == content[-7:]
    size = len(content)
    assert response.headers["content-range"] == f"bytes {size - 7}-{size - 1}/{size}"


async def test_a_suffix_longer_than_the_file_sends_it_all(client: Client) -> None:
    ada, body, content = await stored(client)
    response = await download(
        client, ada.auth, body["id"], headers={"Range": f"bytes=-{len(content) * 2}"}
    )
    assert response.status_code == 206
    assert response.content == content


async def test_a_range_past_the_end_is_clamped(client: Client) -> None:
    ada, body, content = await stored(client)
    size = len(content)
    response = await download(
        client, ada.auth, body["id"], headers={"Range": f"bytes={size - 5}-{size + 100}"}
    )
    assert response.status_code == 206
    assert response.content == content[-5:]


async def test_an_unsatisfiable_range_is_416_with_the_size(client: Client) -> None:
    ada, body, content = await stored(client)
    response = await download(
        client, ada.auth, body["id"], headers={"Range": f"bytes={len(content)}-"}
    )
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(content)}"


async def test_a_malformed_range_is_ignored_and_everything_sent(client: Client) -> None:
    ada, body, content = await stored(client)
    response = await download(client, ada.auth, body["id"], headers={"Range": "lines=1-2"})
    assert response.status_code == 200
    assert response.content == content


async def test_an_if_range_for_another_version_sends_the_whole_file(client: Client) -> None:
    ada, body, content = await stored(client)
    response = await download(
        client,
        ada.auth,
        body["id"],
        headers={"Range": "bytes=0-4", "If-Range": '"' + "0" * 64 + '"'},
    )
    assert response.status_code == 200
    assert response.content == content


# -- validators -----------------------------------------------------------------------


async def test_the_etag_is_the_sha256(client: Client) -> None:
    ada, body, _ = await stored(client)
    response = await download(client, ada.auth, body["id"])
    assert response.headers["etag"] == f'"{body["sha256"]}"'


async def test_a_matching_if_none_match_is_304_without_a_body(client: Client) -> None:
    ada, body, _ = await stored(client)
    etag = f'"{body["sha256"]}"'
    response = await download(client, ada.auth, body["id"], headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


async def test_a_stale_if_none_match_gets_the_content(client: Client) -> None:
    ada, body, content = await stored(client)
    response = await download(client, ada.auth, body["id"], headers={"If-None-Match": '"stale"'})
    assert response.status_code == 200
    assert response.content == content


# -- links that do not hold -----------------------------------------------------------


async def signed_query(client: Client, user: Account, file_id: str) -> dict[str, str]:
    return link_query(await download_link(client, user.auth, file_id))


def signed_by_hand(settings: Settings, file_id: str, query: dict[str, str], expires: int) -> str:
    """A link's signature made with the server's key, for version 1 and ``expires``."""
    message = download_message(FileId(UUID(file_id)), 1, WorkspaceId(UUID(query["ws"])), expires)
    return HmacUrlSigner(settings.file_signing_key).sign(message)


async def test_an_expired_link_is_403(client: Client, settings: Settings) -> None:
    ada, body, _ = await stored(client)
    query = await signed_query(client, ada, body["id"])
    past = int(datetime.now(UTC).timestamp()) - 60
    signature = signed_by_hand(settings, body["id"], query, past)
    response = await client.get(
        content_url(body["id"], {**query, "exp": str(past), "sig": signature})
    )
    assert_problem(response, 403, "invalid_signature")


async def test_a_hand_built_link_with_the_right_key_opens(
    client: Client, settings: Settings
) -> None:
    ada, body, content = await stored(client)
    query = await signed_query(client, ada, body["id"])
    later = int(datetime.now(UTC).timestamp()) + 60
    signature = signed_by_hand(settings, body["id"], query, later)
    response = await client.get(
        content_url(body["id"], {**query, "exp": str(later), "sig": signature})
    )
    assert response.content == content


def flipped(signature: str) -> str:
    return ("A" if signature[0] != "A" else "B") + signature[1:]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q: {**q, "sig": flipped(q["sig"])}, id="signature"),
        pytest.param(lambda q: {**q, "sig": q["sig"][:-4]}, id="truncated-signature"),
        pytest.param(lambda q: {**q, "sig": ""}, id="empty-signature"),
        pytest.param(lambda q: {k: v for k, v in q.items() if k != "sig"}, id="no-signature"),
        pytest.param(lambda q: {**q, "v": "2"}, id="version"),
        pytest.param(lambda q: {**q, "ws": str(uuid.uuid4())}, id="workspace"),
        pytest.param(lambda q: {**q, "ws": "not-a-uuid"}, id="malformed-workspace"),
        pytest.param(lambda q: {**q, "exp": str(int(q["exp"]) + 3600)}, id="expiry"),
        pytest.param(lambda q: {**q, "exp": "soon"}, id="malformed-expiry"),
    ],
)
async def test_a_tampered_link_is_403_invalid_signature(
    client: Client, tamper: Callable[[dict[str, str]], dict[str, str]]
) -> None:
    ada, body, _ = await stored(client)
    query = await signed_query(client, ada, body["id"])
    response = await client.get(content_url(body["id"], tamper(query)))
    assert_problem(response, 403, "invalid_signature")


async def test_a_link_moved_to_another_file_is_403(client: Client) -> None:
    ada, body, _ = await stored(client)
    other = await uploaded(client, ada.auth, content=b"another file")
    query = await signed_query(client, ada, body["id"])
    response = await client.get(content_url(other["id"], query))
    assert_problem(response, 403, "invalid_signature")


async def test_a_link_for_an_old_version_does_not_open_the_new_one(client: Client) -> None:
    ada, body, content = await stored(client)
    query = await signed_query(client, ada, body["id"])
    await add_version(client, ada.auth, body["id"], b"replaced")
    response = await client.get(content_url(body["id"], query))
    assert response.content == content  # the link names version 1, and gets it


async def test_a_link_to_a_deleted_file_is_404(client: Client) -> None:
    ada, body, _ = await stored(client)
    query = await signed_query(client, ada, body["id"])
    await client.delete(f"{FILES}/{body['id']}", headers=ada.auth)
    response = await client.get(content_url(body["id"], query))
    assert_problem(response, 404, "file_not_found")


# -- public files ---------------------------------------------------------------------


async def test_a_public_file_is_served_without_credentials(client: Client) -> None:
    _, body, content = await stored(client, is_public="true")
    response = await client.get(f"{FILES}/public/{body['id']}")
    assert response.status_code == 200, response.text
    assert response.content == content
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].startswith("attachment;")


async def test_a_private_file_is_404_at_the_public_url(client: Client) -> None:
    _, body, _ = await stored(client)
    response = await client.get(f"{FILES}/public/{body['id']}")
    assert_problem(response, 404, "file_not_found")


async def test_a_file_made_private_again_leaves_the_public_url(client: Client) -> None:
    ada, body, _ = await stored(client, is_public="true")
    await client.patch(f"{FILES}/{body['id']}", json={"is_public": False}, headers=ada.auth)
    response = await client.get(f"{FILES}/public/{body['id']}")
    assert_problem(response, 404, "file_not_found")


async def test_the_public_url_serves_the_current_version(client: Client) -> None:
    ada, body, _ = await stored(client, is_public="true")
    await add_version(client, ada.auth, body["id"], b"newer")
    response = await client.get(f"{FILES}/public/{body['id']}")
    assert response.content == b"newer"


async def test_a_public_file_supports_ranges(client: Client) -> None:
    _, body, content = await stored(client, is_public="true")
    response = await client.get(f"{FILES}/public/{body['id']}", headers={"Range": "bytes=0-3"})
    assert response.status_code == 206
    assert response.content == content[:4]
