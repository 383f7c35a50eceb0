"""Request-bound dependencies: the authenticated caller and their client details."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dishka import Provider, Scope, provide
from litestar import Request

from application.common.authentication import AuthenticateAccessToken, AuthenticatedUser
from domain.identity.errors import InvalidAccessToken
from entrypoints.config import Settings
from entrypoints.http.client import client_address, parse_networks, user_agent


@dataclass(frozen=True, slots=True)
class ClientInfo:
    address: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class OptionalUser:
    """The caller when credentials were sent; None for an anonymous request."""

    user: AuthenticatedUser | None


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    networks: tuple[Any, ...]


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidAccessToken
    return token.strip()


class HttpProvider(Provider):
    scope = Scope.REQUEST

    @provide
    async def authenticated_user(
        self,
        request: Request,  # type: ignore[type-arg] # dishka keys on the bare class
        authenticate: AuthenticateAccessToken,
    ) -> AuthenticatedUser:
        token = bearer_token(request)
        if token is None:
            raise InvalidAccessToken("Authentication is required.")
        return await authenticate.execute(token)

    @provide
    async def optional_user(
        self,
        request: Request,  # type: ignore[type-arg] # dishka keys on the bare class
        authenticate: AuthenticateAccessToken,
    ) -> OptionalUser:
        token = bearer_token(request)
        return OptionalUser(await authenticate.execute(token) if token else None)

    @provide(scope=Scope.APP)
    def trusted_proxies(self, settings: Settings) -> TrustedProxies:
        return TrustedProxies(parse_networks(settings.trusted_proxies))

    @provide
    def client_info(
        self,
        request: Request,  # type: ignore[type-arg] # dishka keys on the bare class
        proxies: TrustedProxies,
    ) -> ClientInfo:
        return ClientInfo(client_address(request, proxies.networks), user_agent(request))
