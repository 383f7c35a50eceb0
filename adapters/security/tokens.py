from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime

import jwt

from application.ports.security import (
    AccessClaims,
    AccessTokenIssuer,
    IssuedAccessToken,
    SecretTokens,
)
from domain.identity.errors import InvalidAccessToken
from domain.identity.ids import SessionId, UserId

ALGORITHM = "HS256"
_REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub", "sid", "jti", "typ"]


class JwtAccessTokens(AccessTokenIssuer):
    """Short-lived access JWTs signed with one pinned algorithm.

    Verification takes the algorithm and key from configuration only: the
    header's ``alg``, ``kid``, ``jku``, ``x5u`` and ``jwk`` are never used.
    """

    def __init__(self, *, secret: str, issuer: str, audience: str, ttl_seconds: int) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the JWT secret must be at least 32 bytes")
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds

    def issue(self, user_id: UserId, session_id: SessionId, now: datetime) -> IssuedAccessToken:
        issued_at = int(now.timestamp())
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + self._ttl,
            "iss": self._issuer,
            "aud": self._audience,
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"typ": "JWT"})
        return IssuedAccessToken(token=token, expires_in=self._ttl)

    def verify(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": _REQUIRED, "strict_aud": True},
                leeway=5,
            )
            if claims["typ"] != "access":
                raise InvalidAccessToken
            return AccessClaims(
                user_id=UserId(uuid.UUID(claims["sub"])),
                session_id=SessionId(uuid.UUID(claims["sid"])),
            )
        except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as exc:
            raise InvalidAccessToken from exc


class RandomSecretTokens(SecretTokens):
    """256-bit URL-safe secrets; stored as SHA-256 (a fast hash suffices for
    uniformly random secrets: there is nothing to guess offline).
    """

    def generate(self) -> str:
        return secrets.token_urlsafe(32)

    def fingerprint(self, token: str) -> str:
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
