from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from dishka.integrations.litestar import FromDishka
from litestar import Controller, Response, get
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints import __version__
from entrypoints.config import Settings

PUBLIC = {"security": "public"}


class HealthController(Controller):
    tags = ["health"]

    @get("/", opt=PUBLIC, summary="Service name and version")
    async def root(self, settings: FromDishka[Settings]) -> dict[str, str]:
        return {"name": settings.app_name, "version": __version__}

    @get("/health", opt=PUBLIC, summary="Liveness: answers while the process runs")
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/health/ready", opt=PUBLIC, summary="Readiness: PostgreSQL and Redis reachable")
    async def ready(
        self,
        engine: FromDishka[AsyncEngine],
        redis: FromDishka[Redis],
        settings: FromDishka[Settings],
    ) -> Response[dict[str, Any]]:
        timeout = settings.readiness_timeout_seconds

        async def postgres() -> None:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        async def redis_ping() -> None:
            await redis.ping()

        async def check(probe: Callable[[], Awaitable[None]]) -> str:
            try:
                await asyncio.wait_for(probe(), timeout)
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                return f"unavailable: {type(exc).__name__}"
            return "ok"

        results = await asyncio.gather(check(postgres), check(redis_ping))
        checks = dict(zip(("postgres", "redis"), results, strict=True))
        ok = all(v == "ok" for v in checks.values())
        failed = [name for name, v in checks.items() if v != "ok"]
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
        if failed:
            body["failed"] = failed
        return Response(body, status_code=200 if ok else 503)
