"""The Litestar application factory."""

from __future__ import annotations

import gc
from typing import Any

from dishka import AsyncContainer
from dishka.integrations.litestar import DishkaRouter, LitestarProvider, setup_dishka
from litestar import Litestar, Request, get
from litestar.datastructures import MutableScopeHeaders
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import Message, Scope

from entrypoints import __version__
from entrypoints.config import Settings, load_settings
from entrypoints.http.errors import EXCEPTION_HANDLERS, rate_limit_headers
from entrypoints.http.files.controller import FileController
from entrypoints.http.health import HealthController
from entrypoints.http.identity.controller import AuthController
from entrypoints.http.llm.credentials import CredentialController
from entrypoints.http.llm.gateway import (
    AnthropicController,
    NativeGatewayController,
    OpenAIController,
)
from entrypoints.http.llm.governance import (
    BudgetController,
    LimitsController,
    LlmSettingsController,
)
from entrypoints.http.llm.routes import RouteController
from entrypoints.http.llm.usage import UsageController
from entrypoints.http.middleware import request_id_middleware
from entrypoints.http.security import HttpProvider
from entrypoints.http.tenancy.controller import (
    ApiKeyController,
    AuditController,
    InvitationController,
    WorkspaceController,
)
from entrypoints.ioc.container import build_container
from entrypoints.observability import configure_logging


class MetricsController(PrometheusController):
    path = "/metrics"
    opt = {"security": "public"}


async def add_rate_limit_headers(message: Message, scope: Scope) -> None:
    """A request made with a rate-limited API key reports where it stands."""
    decision = scope.get("state", {}).get("rate_limit")
    if message["type"] != "http.response.start" or decision is None:
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in rate_limit_headers(
        decision.limit, decision.remaining, decision.reset_after
    ).items():
        if name not in headers:
            headers[name] = value


@get("/openapi.json", include_in_schema=False, opt={"security": "public"}, sync_to_thread=False)
def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return request.app.openapi_schema.to_schema()


def freeze_startup_objects() -> None:
    """Move what start-up allocated out of the collector's sight: full
    collections under load then scan only per-request garbage (pauses of
    ~100 ms every few seconds otherwise)."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings | None = None, container: AsyncContainer | None = None
) -> Litestar:
    settings = settings or load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    container = container or build_container(settings, HttpProvider(), LitestarProvider())
    prometheus = PrometheusConfig(
        app_name="synapscale",
        prefix="synapscale",
        group_path=True,
        exclude=["/metrics"],
    )
    app = Litestar(
        route_handlers=[
            DishkaRouter(
                "",
                route_handlers=[
                    HealthController,
                    AuthController,
                    WorkspaceController,
                    InvitationController,
                    ApiKeyController,
                    AuditController,
                    FileController,
                    CredentialController,
                    NativeGatewayController,
                    OpenAIController,
                    AnthropicController,
                    RouteController,
                    UsageController,
                    BudgetController,
                    LimitsController,
                    LlmSettingsController,
                ],
            ),
            MetricsController,
            openapi_document,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[prometheus.middleware],
        openapi_config=OpenAPIConfig(
            title=settings.app_name,
            version=__version__,
            path="/docs",
            render_plugins=[ScalarRenderPlugin(path="/")],
        ),
        request_max_body_size=settings.max_request_body_bytes,
        before_send=[add_rate_limit_headers],
        on_startup=[freeze_startup_objects],
        on_shutdown=[container.close],
        logging_config=None,  # structlog (entrypoints.observability) owns logging
        debug=False,
    )
    setup_dishka(container, app)
    app.asgi_handler = request_id_middleware(app.asgi_handler)
    return app
