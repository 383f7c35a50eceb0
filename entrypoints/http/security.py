"""Request-bound dependencies: the authenticated caller and their client details."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dishka import AsyncContainer, Provider, Scope, provide
from litestar import Request

from adapters.postgres.audit import RequestOrigin
from application.common.api_keys import AuthenticateApiKey
from application.common.authentication import AuthenticateAccessToken, AuthenticatedUser
from application.common.tenancy import ResolveWorkspace, WorkspaceActor
from domain.identity.api_key import SECRET_PREFIX
from domain.identity.errors import InvalidAccessToken
from domain.tenancy.errors import WorkspaceNotFound
from domain.tenancy.ids import WorkspaceId
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


def api_key_secret(request: Request[Any, Any, Any]) -> str | None:
    """An API key from ``X-API-Key`` or ``Authorization: Bearer sk-ss-…``."""
    key = request.headers.get("x-api-key")
    if key is not None:
        return key.strip()
    token = bearer_token(request)
    return token if token and token.startswith(SECRET_PREFIX) else None


def requested_workspace(request: Request[Any, Any, Any]) -> WorkspaceId | None:
    """The workspace in the path, else ``X-Workspace-Id``; a malformed id is
    answered like an unknown one."""
    raw = request.path_params.get("workspace_id") or request.headers.get("x-workspace-id")
    if raw is None:
        return None
    if isinstance(raw, UUID):
        return WorkspaceId(raw)
    try:
        return WorkspaceId(UUID(str(raw)))
    except ValueError:
        raise WorkspaceNotFound from None


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
        if token.startswith(SECRET_PREFIX):
            raise InvalidAccessToken("This endpoint needs a user's access token, not an API key.")
        return await authenticate.execute(token)

    @provide
    async def workspace_actor(
        self,
        request: Request,  # type: ignore[type-arg] # dishka keys on the bare class
        authenticate_key: AuthenticateApiKey,
        container: AsyncContainer,
    ) -> WorkspaceActor:
        """The user-token path is resolved only when taken: it needs the
        database, and an API-key call whose key is cached needs none."""
        secret = api_key_secret(request)
        if secret is not None:
            try:
                actor = await authenticate_key.execute(secret)
            finally:
                request.scope.setdefault("state", {})["rate_limit"] = authenticate_key.decision
            wanted = requested_workspace(request)
            if wanted is not None and wanted != actor.workspace_id:
                raise WorkspaceNotFound
            return actor
        token = bearer_token(request)
        if token is None:
            raise InvalidAccessToken("Authentication is required.")
        user = await (await container.get(AuthenticateAccessToken)).execute(token)
        resolve = await container.get(ResolveWorkspace)
        return await resolve.execute(user.user_id, requested_workspace(request))

    @provide
    def origin(
        self,
        request: Request,  # type: ignore[type-arg] # dishka keys on the bare class
        client: ClientInfo,
    ) -> RequestOrigin:
        return RequestOrigin(
            client_address=client.address,
            user_agent=client.user_agent,
            request_id=request.scope.get("state", {}).get("request_id"),
        )

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
