"""ASGI entry for servers: ``uvicorn entrypoints.http.asgi:create_app --factory``."""

from entrypoints.http.app import create_app

__all__ = ["create_app"]
