from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.identity.email import Email
from domain.identity.events import (
    EmailVerificationRequested,
    EmailVerified,
    PasswordChanged,
    PasswordResetRequested,
    UserDeleted,
    UserRegistered,
)
from domain.identity.ids import UserId
from domain.identity.user import User, UserName

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
USER_ID = UserId(UUID("01900000-0000-7000-8000-000000000001"))


def registered() -> User:
    return User.register(
        id=USER_ID,
        email=Email.parse("ada@example.com"),
        name=UserName.parse("Ada"),
        password_hash="hash-1",
        now=NOW,
    )


def fresh() -> User:
    user = registered()
    user.pull_events()
    return user


def test_register_creates_an_unverified_user() -> None:
    user = registered()
    assert user.email_verified is False
    assert user.created_at == user.updated_at == NOW


def test_register_records_user_registered_and_verification_requested() -> None:
    assert registered().pull_events() == [
        UserRegistered(user_id=USER_ID),
        EmailVerificationRequested(user_id=USER_ID),
    ]


def test_pull_events_empties_the_list() -> None:
    user = registered()
    user.pull_events()
    assert user.pull_events() == []


def test_verify_email_marks_the_address_verified_and_records_it() -> None:
    user = fresh()
    user.verify_email(LATER)
    assert user.email_verified is True
    assert user.updated_at == LATER
    assert user.pull_events() == [EmailVerified(user_id=USER_ID)]


def test_verify_email_is_idempotent() -> None:
    user = fresh()
    user.verify_email(LATER)
    user.pull_events()
    user.verify_email(LATER + timedelta(hours=1))
    assert user.pull_events() == []
    assert user.updated_at == LATER


def test_request_verification_records_a_request_while_unverified() -> None:
    user = fresh()
    user.request_verification()
    assert user.pull_events() == [EmailVerificationRequested(user_id=USER_ID)]


def test_request_verification_does_nothing_once_verified() -> None:
    user = fresh()
    user.verify_email(LATER)
    user.pull_events()
    user.request_verification()
    assert user.pull_events() == []


def test_rename_changes_the_name_without_an_event() -> None:
    user = fresh()
    user.rename(UserName.parse("Countess Lovelace"), LATER)
    assert user.name.value == "Countess Lovelace"
    assert user.updated_at == LATER
    assert user.pull_events() == []


def test_change_password_records_password_changed() -> None:
    user = fresh()
    user.change_password("hash-2", LATER, reset=True)
    assert user.password_hash == "hash-2"
    assert user.updated_at == LATER
    assert user.pull_events() == [PasswordChanged(user_id=USER_ID, reset=True)]


def test_rehash_password_is_not_a_password_change() -> None:
    user = fresh()
    user.rehash_password("hash-2", LATER)
    assert user.password_hash == "hash-2"
    assert user.pull_events() == []


def test_request_password_reset_records_the_request() -> None:
    user = fresh()
    user.request_password_reset()
    assert user.pull_events() == [PasswordResetRequested(user_id=USER_ID)]


def test_delete_records_user_deleted() -> None:
    user = fresh()
    user.delete()
    assert user.pull_events() == [UserDeleted(user_id=USER_ID)]


def test_events_carry_no_secret() -> None:
    user = registered()
    user.change_password("hash-secret", LATER, reset=False)
    for event in user.pull_events():
        assert "hash" not in repr(event)
