from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from application.common.identity import TokenPair, UserView
from application.ports.identity_reads import SessionView

# Generous caps: the domain gives the precise rule; these only bound the work.
Email = Annotated[str, msgspec.Meta(max_length=320, examples=["ada@example.com"])]
Secret = Annotated[str, msgspec.Meta(max_length=1024)]
Token = Annotated[str, msgspec.Meta(max_length=512)]
Name = Annotated[str, msgspec.Meta(max_length=400, examples=["Ada Lovelace"])]


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class RegisterIn(Body, kw_only=True):
    email: Email
    password: Secret
    name: Name


class LoginIn(Body, kw_only=True):
    email: Email
    password: Secret


class RefreshIn(Body, kw_only=True):
    refresh_token: Token


class TokenIn(Body, kw_only=True):
    token: Token | None = None


class EmailIn(Body, kw_only=True):
    email: Email


class ResendVerificationIn(Body, kw_only=True):
    email: Email | None = None


class ResetPasswordIn(Body, kw_only=True):
    token: Token | None = None
    new_password: Secret


class ChangePasswordIn(Body, kw_only=True):
    current_password: Secret
    new_password: Secret


class ProfilePatch(Body, kw_only=True, omit_defaults=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET


class PasswordIn(Body, kw_only=True):
    password: Secret


class UserOut(msgspec.Struct, kw_only=True):
    id: UUID
    email: str
    name: str
    email_verified: bool
    created_at: datetime

    @classmethod
    def of(cls, view: UserView) -> UserOut:
        return cls(
            id=view.id,
            email=view.email,
            name=view.name,
            email_verified=view.email_verified,
            created_at=view.created_at,
        )


class TokensOut(msgspec.Struct, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokensOut:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
        )


class SessionOut(msgspec.Struct, kw_only=True):
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_address: str | None
    current: bool

    @classmethod
    def of(cls, view: SessionView) -> SessionOut:
        return cls(
            id=view.id,
            created_at=view.created_at,
            last_used_at=view.last_used_at,
            expires_at=view.expires_at,
            user_agent=view.user_agent,
            client_address=view.client_address,
            current=view.current,
        )


class SessionsOut(msgspec.Struct, kw_only=True):
    items: list[SessionOut]


class AcceptedOut(msgspec.Struct, kw_only=True):
    """202: the request is taken; whether a mail goes out is not disclosed."""

    status: Literal["accepted"] = "accepted"
