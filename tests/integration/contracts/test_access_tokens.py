"""AccessTokenIssuer: FakeAccessTokens and JwtAccessTokens agree on the shared
cases; the JWT adapter also resists the usual forgeries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from adapters.security.tokens import JwtAccessTokens
from application.ports.security import AccessClaims, AccessTokenIssuer
from domain.identity.errors import InvalidAccessToken
from domain.identity.ids import SessionId, UserId
from tests.conftest import TEST_JWT_SECRET
from tests.fakes.security import FakeAccessTokens
from tests.fakes.system import FakeClock

pytestmark = pytest.mark.integration

TTL = 900
ISSUER = "synapscale"
AUDIENCE = "synapscale-api"
OTHER_SECRET = "another-secret-0123456789abcdef0123456789"
USER = UserId(uuid.UUID("01900000-0000-7000-8000-000000000001"))
SESSION = SessionId(uuid.UUID("01900000-0000-7000-8000-000000000002"))


def wall_clock() -> datetime:
    return datetime.now(UTC)


def jwt_tokens(secret: str = TEST_JWT_SECRET, audience: str = AUDIENCE) -> JwtAccessTokens:
    return JwtAccessTokens(secret=secret, issuer=ISSUER, audience=audience, ttl_seconds=TTL)


@dataclass
class Subject:
    issuer: AccessTokenIssuer
    stranger: AccessTokenIssuer  # same kind, other key: trusts none of the first's tokens


@pytest.fixture(params=["fake", "jwt"])
def subject(request: pytest.FixtureRequest) -> Iterator[Subject]:
    if request.param == "fake":
        clock = FakeClock(wall_clock())  # the JWT adapter checks expiry against real time
        yield Subject(FakeAccessTokens(clock, ttl_seconds=TTL), FakeAccessTokens(clock))
    else:
        yield Subject(jwt_tokens(), jwt_tokens(OTHER_SECRET))


# -- shared cases -------------------------------------------------------------------------


async def test_an_issued_token_verifies_to_its_user_and_session(subject: Subject) -> None:
    issued = subject.issuer.issue(USER, SESSION, wall_clock())
    assert subject.issuer.verify(issued.token) == AccessClaims(user_id=USER, session_id=SESSION)


async def test_the_token_says_how_long_it_lives(subject: Subject) -> None:
    assert subject.issuer.issue(USER, SESSION, wall_clock()).expires_in == TTL


async def test_each_issued_token_is_different(subject: Subject) -> None:
    now = wall_clock()
    assert (
        subject.issuer.issue(USER, SESSION, now).token
        != subject.issuer.issue(USER, SESSION, now).token
    )


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "access-1 "])
async def test_garbage_is_refused(subject: Subject, token: str) -> None:
    with pytest.raises(InvalidAccessToken):
        subject.issuer.verify(token)


async def test_a_tampered_token_is_refused(subject: Subject) -> None:
    token = subject.issuer.issue(USER, SESSION, wall_clock()).token
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvalidAccessToken):
        subject.issuer.verify(tampered)


async def test_an_expired_token_is_refused(subject: Subject) -> None:
    issued = subject.issuer.issue(USER, SESSION, wall_clock() - timedelta(seconds=2 * TTL))
    with pytest.raises(InvalidAccessToken):
        subject.issuer.verify(issued.token)


async def test_a_token_of_another_issuer_is_refused(subject: Subject) -> None:
    issued = subject.stranger.issue(USER, SESSION, wall_clock())
    with pytest.raises(InvalidAccessToken):
        subject.issuer.verify(issued.token)


# -- the JWT adapter's own defences --------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(wall_clock().timestamp())
    values: dict[str, Any] = {
        "sub": str(USER),
        "sid": str(SESSION),
        "iat": now,
        "nbf": now,
        "exp": now + TTL,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def hand_made(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A JWS built by hand, so the header can say anything."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    if key is None:
        return signing_input + "."
    digest = hashlib.sha512 if header.get("alg") == "HS512" else hashlib.sha256
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), digest).digest())}"


def refused(token: str) -> None:
    with pytest.raises(InvalidAccessToken):
        jwt_tokens().verify(token)


def test_a_well_formed_hand_made_token_is_accepted() -> None:
    # The forgeries below differ from this one in one respect each.
    token = hand_made({"alg": "HS256", "typ": "JWT"}, claims(), TEST_JWT_SECRET.encode())
    assert jwt_tokens().verify(token).session_id == SESSION


def test_a_token_signed_with_another_secret_is_refused() -> None:
    refused(jwt.encode(claims(), OTHER_SECRET, algorithm="HS256"))


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_an_unsigned_alg_none_token_is_refused(alg: str) -> None:
    refused(hand_made({"alg": alg, "typ": "JWT"}, claims(), None))


def test_an_alg_none_token_with_a_signature_is_refused() -> None:
    refused(hand_made({"alg": "none", "typ": "JWT"}, claims(), TEST_JWT_SECRET.encode()))


def test_an_hs512_token_with_the_right_secret_is_refused() -> None:
    refused(jwt.encode(claims(), TEST_JWT_SECRET, algorithm="HS512"))


def test_an_rs256_header_over_an_hmac_signature_is_refused() -> None:
    # Key confusion: a verifier trusting the header would check an HMAC with the
    # "public key" it was configured with.
    forged = hand_made({"alg": "RS256", "typ": "JWT"}, claims(), TEST_JWT_SECRET.encode())
    refused(forged)


def test_a_header_pointing_at_another_key_is_ignored() -> None:
    header = {"alg": "HS256", "typ": "JWT", "kid": "attacker", "jku": "https://evil.test/k"}
    refused(hand_made(header, claims(), OTHER_SECRET.encode()))


@pytest.mark.parametrize("missing", ["iss", "aud", "exp", "sub", "sid", "nbf", "iat", "jti", "typ"])
def test_a_token_missing_a_required_claim_is_refused(missing: str) -> None:
    refused(jwt.encode(claims(**{missing: None}), TEST_JWT_SECRET, algorithm="HS256"))


@pytest.mark.parametrize("typ", ["refresh", "id", "", "ACCESS"])
def test_a_token_of_the_wrong_type_is_refused(typ: str) -> None:
    refused(jwt.encode(claims(typ=typ), TEST_JWT_SECRET, algorithm="HS256"))


@pytest.mark.parametrize("audience", ["another-api", [AUDIENCE, "another-api"], [AUDIENCE]])
def test_a_token_for_another_audience_is_refused(audience: object) -> None:
    refused(jwt.encode(claims(aud=audience), TEST_JWT_SECRET, algorithm="HS256"))


def test_a_token_of_another_issuer_name_is_refused() -> None:
    refused(jwt.encode(claims(iss="someone-else"), TEST_JWT_SECRET, algorithm="HS256"))


def test_a_token_not_yet_valid_is_refused() -> None:
    later = int(wall_clock().timestamp()) + 600
    refused(jwt.encode(claims(nbf=later, iat=later), TEST_JWT_SECRET, algorithm="HS256"))


def test_a_token_expired_within_the_leeway_is_still_accepted() -> None:
    now = int(wall_clock().timestamp())
    token = jwt.encode(claims(exp=now - 2), TEST_JWT_SECRET, algorithm="HS256")
    assert jwt_tokens().verify(token).user_id == USER


@pytest.mark.parametrize(
    ("claim", "value"), [("sub", "not-a-uuid"), ("sid", "not-a-uuid"), ("sid", 42)]
)
def test_a_token_with_malformed_ids_is_refused(claim: str, value: object) -> None:
    refused(jwt.encode(claims(**{claim: value}), TEST_JWT_SECRET, algorithm="HS256"))


def test_a_short_secret_is_rejected_at_construction() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        jwt_tokens("too-short")
