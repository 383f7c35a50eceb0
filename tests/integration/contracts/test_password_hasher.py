"""PasswordHasher: FakePasswordHasher and Argon2PasswordHasher agree."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from adapters.security.passwords import Argon2PasswordHasher
from application.ports.security import PasswordHasher
from tests.fakes.security import FakePasswordHasher

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


@dataclass
class Subject:
    hasher: PasswordHasher
    weaker: PasswordHasher  # the same kind of hasher with older, weaker parameters


@pytest.fixture(params=["fake", "argon2"])
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    if request.param == "fake":
        yield Subject(FakePasswordHasher(), FakePasswordHasher("old"))
    else:
        yield Subject(
            Argon2PasswordHasher(time_cost=2, memory_kib=19_456, parallelism=1),
            Argon2PasswordHasher(time_cost=1, memory_kib=8_192, parallelism=1),
        )


async def test_the_hash_is_not_the_password(subject: Subject) -> None:
    password_hash = await subject.hasher.hash(PASSWORD)
    assert PASSWORD not in password_hash


async def test_the_right_password_verifies(subject: Subject) -> None:
    password_hash = await subject.hasher.hash(PASSWORD)
    assert await subject.hasher.verify(password_hash, PASSWORD) is True


@pytest.mark.parametrize("wrong", ["correct horse battery ", "Correct horse battery", ""])
async def test_a_wrong_password_does_not_verify(subject: Subject, wrong: str) -> None:
    password_hash = await subject.hasher.hash(PASSWORD)
    assert await subject.hasher.verify(password_hash, wrong) is False


async def test_with_no_hash_nothing_verifies(subject: Subject) -> None:
    assert await subject.hasher.verify(None, PASSWORD) is False
    assert await subject.hasher.verify(None, "") is False


@pytest.mark.parametrize("garbage", ["", "not-a-hash", "$argon2id$v=19$m=1,t=1,p=1$xx$yy"])
async def test_a_malformed_hash_verifies_nothing(subject: Subject, garbage: str) -> None:
    assert await subject.hasher.verify(garbage, PASSWORD) is False


async def test_any_unicode_password_round_trips(subject: Subject) -> None:
    password = "пароль-密码-🔑-ñ"
    password_hash = await subject.hasher.hash(password)
    assert await subject.hasher.verify(password_hash, password) is True
    assert await subject.hasher.verify(password_hash, "пароль-密码-🔑-n") is False


async def test_a_fresh_hash_needs_no_rehash(subject: Subject) -> None:
    assert subject.hasher.needs_rehash(await subject.hasher.hash(PASSWORD)) is False


async def test_a_hash_made_with_weaker_parameters_needs_rehash(subject: Subject) -> None:
    assert subject.hasher.needs_rehash(await subject.weaker.hash(PASSWORD)) is True


async def test_a_hash_made_with_weaker_parameters_still_verifies(subject: Subject) -> None:
    old_hash = await subject.weaker.hash(PASSWORD)
    assert await subject.hasher.verify(old_hash, PASSWORD) is True
    assert await subject.hasher.verify(old_hash, "something else") is False
