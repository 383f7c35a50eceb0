from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.common.events import Aggregate
from domain.common.text import display_name
from domain.identity.email import Email
from domain.identity.errors import InvalidName
from domain.identity.events import (
    EmailVerificationRequested,
    EmailVerified,
    PasswordChanged,
    PasswordResetRequested,
    UserDeleted,
    UserRegistered,
)
from domain.identity.ids import UserId

NAME_MAX_LENGTH = 100


@dataclass(frozen=True, slots=True)
class UserName:
    value: str

    @classmethod
    def parse(cls, raw: str) -> UserName:
        return cls(display_name(raw, max_length=NAME_MAX_LENGTH, error=InvalidName, field="name"))


@dataclass(kw_only=True, eq=False)
class User(Aggregate):
    id: UserId
    email: Email
    name: UserName
    password_hash: str
    email_verified: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def register(
        cls, *, id: UserId, email: Email, name: UserName, password_hash: str, now: datetime
    ) -> User:
        user = cls(
            id=id,
            email=email,
            name=name,
            password_hash=password_hash,
            email_verified=False,
            created_at=now,
            updated_at=now,
        )
        user.record(UserRegistered(user_id=id))
        user.record(EmailVerificationRequested(user_id=id))
        return user

    def request_verification(self) -> None:
        if not self.email_verified:
            self.record(EmailVerificationRequested(user_id=self.id))

    def verify_email(self, now: datetime) -> None:
        if self.email_verified:
            return
        self.email_verified = True
        self.updated_at = now
        self.record(EmailVerified(user_id=self.id))

    def rename(self, name: UserName, now: datetime) -> None:
        self.name = name
        self.updated_at = now

    def rehash_password(self, password_hash: str, now: datetime) -> None:
        """Same password, stronger hash parameters: not a password change."""
        self.password_hash = password_hash
        self.updated_at = now

    def change_password(self, password_hash: str, now: datetime, *, reset: bool) -> None:
        self.password_hash = password_hash
        self.updated_at = now
        self.record(PasswordChanged(user_id=self.id, reset=reset))

    def request_password_reset(self) -> None:
        self.record(PasswordResetRequested(user_id=self.id))

    def delete(self) -> None:
        self.record(UserDeleted(user_id=self.id))
