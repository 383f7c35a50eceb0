"""AES-256-GCM for stored keys: bound to their row, rotatable, and silent about secrets."""

from __future__ import annotations

import base64
import dataclasses
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.security.cipher import NONCE_BYTES, AesGcmCipher, parse_master_keys
from domain.llm.credential import EncryptedSecret, credential_associated_data
from domain.llm.errors import CredentialUnreadable
from domain.llm.ids import CredentialId
from domain.tenancy.ids import WorkspaceId
from tests.fakes.llm_credentials import master_key, master_keys_setting

SECRET = "sk-proj-Th1sIsNotARealKeyButLooksLikeOne0123"
WORKSPACE = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000a"))
OTHER_WORKSPACE = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000b"))
CREDENTIAL = CredentialId(UUID("0190aaaa-0000-7000-8000-000000000001"))
OTHER_CREDENTIAL = CredentialId(UUID("0190aaaa-0000-7000-8000-000000000002"))
AAD = credential_associated_data(WORKSPACE, CREDENTIAL)


def cipher(*ids: str) -> AesGcmCipher:
    return AesGcmCipher.from_setting(master_keys_setting(*ids))


def test_a_sealed_secret_opens_with_the_same_associated_data() -> None:
    sealed = cipher("k1").encrypt(SECRET, associated_data=AAD)
    assert sealed.key_id == "k1"
    assert len(sealed.nonce) == NONCE_BYTES
    assert SECRET.encode() not in sealed.ciphertext
    assert cipher("k1").decrypt(sealed, associated_data=AAD) == SECRET


def test_every_seal_uses_a_fresh_nonce() -> None:
    box = cipher("k1")
    sealed = [box.encrypt(SECRET, associated_data=AAD) for _ in range(50)]
    assert len({s.nonce for s in sealed}) == 50
    assert len({s.ciphertext for s in sealed}) == 50


@pytest.mark.parametrize(
    "other",
    [
        credential_associated_data(OTHER_WORKSPACE, CREDENTIAL),
        credential_associated_data(WORKSPACE, OTHER_CREDENTIAL),
        b"",
    ],
    ids=["other workspace", "other credential", "none"],
)
def test_a_secret_does_not_open_with_other_associated_data(other: bytes) -> None:
    box = cipher("k1")
    sealed = box.encrypt(SECRET, associated_data=AAD)
    with pytest.raises(CredentialUnreadable):
        box.decrypt(sealed, associated_data=other)


@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_of_the_ciphertext_or_nonce_is_detected(position: int, bit: int) -> None:
    box = cipher("k1")
    sealed = box.encrypt(SECRET, associated_data=AAD)
    blob = sealed.nonce + sealed.ciphertext
    index = position % len(blob)
    flipped = bytearray(blob)
    flipped[index] ^= 1 << bit
    tampered = EncryptedSecret(
        key_id="k1", nonce=bytes(flipped[:NONCE_BYTES]), ciphertext=bytes(flipped[NONCE_BYTES:])
    )
    with pytest.raises(CredentialUnreadable):
        box.decrypt(tampered, associated_data=AAD)


def test_an_unknown_key_id_or_a_different_key_is_unreadable() -> None:
    sealed = cipher("k1").encrypt(SECRET, associated_data=AAD)
    with pytest.raises(CredentialUnreadable):
        cipher("k2").decrypt(sealed, associated_data=AAD)
    impostor = AesGcmCipher([("k1", master_key("someone else"))])
    with pytest.raises(CredentialUnreadable):
        impostor.decrypt(sealed, associated_data=AAD)
    with pytest.raises(CredentialUnreadable):
        cipher("k1").decrypt(dataclasses.replace(sealed, nonce=b"short"), associated_data=AAD)


def test_the_unreadable_error_says_nothing_secret() -> None:
    sealed = cipher("k1").encrypt(SECRET, associated_data=AAD)
    with pytest.raises(CredentialUnreadable) as caught:
        cipher("k1").decrypt(sealed, associated_data=b"elsewhere")
    error = caught.value
    assert error.code == "credential_unreadable"
    assert SECRET not in str(error)
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_after_rotation_old_secrets_open_and_new_ones_use_the_new_key() -> None:
    old = cipher("2024").encrypt(SECRET, associated_data=AAD)
    rotated = cipher("2025", "2024")
    assert rotated.decrypt(old, associated_data=AAD) == SECRET
    new = rotated.encrypt("sk-another-key-0000000000", associated_data=AAD)
    assert new.key_id == "2025"
    assert rotated.decrypt(new, associated_data=AAD) == "sk-another-key-0000000000"
    with pytest.raises(CredentialUnreadable):
        cipher("2024").decrypt(new, associated_data=AAD)


@given(plaintext=st.text(max_size=600), aad=st.binary(max_size=200), other=st.binary(max_size=200))
def test_round_trip_and_binding_hold_for_any_text(plaintext: str, aad: bytes, other: bytes) -> None:
    box = cipher("k1")
    sealed = box.encrypt(plaintext, associated_data=aad)
    assert box.decrypt(sealed, associated_data=aad) == plaintext
    if other != aad:
        with pytest.raises(CredentialUnreadable):
            box.decrypt(sealed, associated_data=other)


def test_master_keys_are_read_in_order() -> None:
    new = base64.b64encode(b"n" * 32).decode()
    old = base64.urlsafe_b64encode(b"\xff" * 32).decode()  # the URL-safe alphabet is read too
    keys = parse_master_keys(f" new:{new} , old:{old}")
    assert keys == [("new", b"n" * 32), ("old", b"\xff" * 32)]


MATERIAL = base64.b64encode(b"s3cr3t-material-" * 2).decode()


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("", "no key"),
        (" , ", "no key"),
        (MATERIAL, "entry 1"),
        (f":{MATERIAL}", "entry 1"),
        (f"bad id:{MATERIAL}", "entry 1"),
        (f"k1:{MATERIAL},k2:not*base64", "entry 2 (k2) is not valid base64"),
        (f"k1:{base64.b64encode(b'x' * 16).decode()}", "32 bytes, not 16"),
        (f"k1:{base64.b64encode(b'x' * 31).decode()}", "32 bytes, not 31"),
        (f"k1:{base64.b64encode(b'x' * 33).decode()}", "32 bytes, not 33"),
        (f"k1:{MATERIAL},k1:{MATERIAL}", "twice"),
    ],
)
def test_bad_master_keys_are_refused_without_echoing_them(setting: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="LLM_MASTER_KEYS") as caught:
        AesGcmCipher.from_setting(setting)
    assert complaint in str(caught.value)
    assert MATERIAL not in str(caught.value)


def test_the_cipher_shows_key_ids_but_no_key_material() -> None:
    box = AesGcmCipher([("k1", master_key("k1"))])
    shown = repr(box)
    assert "k1" in shown
    assert master_key("k1").decode() not in shown
    assert base64.b64encode(master_key("k1")).decode() not in shown
