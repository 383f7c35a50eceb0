"""The HMAC URL signer, and signed download links built and opened with it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.security.signing import HmacUrlSigner
from application.ports.files import FileView
from application.queries.files.downloads import (
    GetDownloadLink,
    GetDownloadLinkHandler,
    OpenSignedDownload,
    OpenSignedDownloadHandler,
)
from domain.files.errors import FileNotFound, InvalidSignature
from domain.files.ids import FileId
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role
from tests.unit.files.fakes import file_part
from tests.unit.files.world import World

KEY = "k" * 32
signer = HmacUrlSigner(KEY)


def test_a_signature_verifies_for_its_message() -> None:
    assert signer.verify("GET\nfile\n1", signer.sign("GET\nfile\n1"))


def test_a_signature_is_url_safe_without_padding() -> None:
    signature = signer.sign("message")
    assert set(signature) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(signature) == 43  # 32 bytes of HMAC-SHA256


@given(st.text(), st.text(min_size=1))
def test_a_tampered_message_does_not_verify(message: str, extra: str) -> None:
    assert not signer.verify(message + extra, signer.sign(message))


@given(st.text(), st.data())
def test_a_tampered_signature_does_not_verify(message: str, data: st.DataObject) -> None:
    signature = signer.sign(message)
    position = data.draw(st.integers(0, len(signature) - 1))
    replacement = data.draw(st.sampled_from("Aa0-_").filter(lambda c: c != signature[position]))
    tampered = signature[:position] + replacement + signature[position + 1 :]
    assert not signer.verify(message, tampered)


@pytest.mark.parametrize("cut", [1, 10, 42, 43])
def test_a_truncated_signature_does_not_verify(cut: int) -> None:
    assert not signer.verify("message", signer.sign("message")[:-cut])


def test_a_signature_made_with_another_key_does_not_verify() -> None:
    assert not signer.verify("message", HmacUrlSigner("o" * 32).sign("message"))


def test_a_non_ascii_signature_is_refused_not_an_error() -> None:
    assert not signer.verify("message", "é" * 43)


def test_a_key_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        HmacUrlSigner("short")


# -- signed download links ----------------------------------------------------------


def parts(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


async def link_for(world: World) -> tuple[FileId, dict[str, str]]:
    file_id = await world.upload(world.actor(), file_part(b"data"))
    link = await GetDownloadLinkHandler(world.reader, signer, world.settings, world.clock).execute(
        GetDownloadLink(actor=world.actor(Role.VIEWER), file_id=file_id)
    )
    assert link.url.startswith(f"https://files.example.test/api/v1/files/{file_id}/content?")
    assert link.expires_at == world.clock.now() + timedelta(seconds=900)
    return file_id, parts(link.url)


async def open_link(world: World, file_id: FileId, query: dict[str, str]) -> FileView:
    return await OpenSignedDownloadHandler(world.reader, signer, world.clock).execute(
        OpenSignedDownload(
            file_id=file_id,
            workspace_id=WorkspaceId(UUID(query["ws"])),
            version=int(query["v"]),
            expires=int(query["exp"]),
            signature=query["sig"],
        )
    )


async def test_a_fresh_link_opens_its_file() -> None:
    world = World()
    file_id, query = await link_for(world)
    view = await open_link(world, file_id, query)
    assert view.id == file_id


async def test_a_link_opens_until_it_expires_and_not_after() -> None:
    world = World()
    file_id, query = await link_for(world)
    world.clock.advance(seconds=900)
    assert await open_link(world, file_id, query)
    world.clock.advance(seconds=1)
    with pytest.raises(InvalidSignature):
        await open_link(world, file_id, query)


@pytest.mark.parametrize(
    ("name", "value"), [("v", "2"), ("exp", "9999999999"), ("ws", str(UUID(int=5)))]
)
async def test_a_link_with_a_changed_parameter_is_refused(name: str, value: str) -> None:
    world = World()
    file_id, query = await link_for(world)
    with pytest.raises(InvalidSignature):
        await open_link(world, file_id, {**query, name: value})


async def test_a_link_moved_to_another_file_is_refused() -> None:
    world = World()
    _, query = await link_for(world)
    other = await world.upload(world.actor(), file_part(b"other"))
    with pytest.raises(InvalidSignature):
        await open_link(world, other, query)


async def test_a_valid_link_to_a_deleted_file_is_not_found() -> None:
    world = World()
    file_id, query = await link_for(world)
    await world.delete(world.actor(Role.OWNER), file_id)
    with pytest.raises(FileNotFound):
        await open_link(world, file_id, query)
