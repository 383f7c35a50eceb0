from __future__ import annotations

from dishka import AsyncContainer, Provider, make_async_container

from entrypoints.config import Settings
from entrypoints.ioc.application import HandlersProvider
from entrypoints.ioc.infrastructure import InfrastructureProvider, PersistenceProvider
from entrypoints.ioc.llm import LlmGatewayProvider


def build_container(settings: Settings, *extra: Provider) -> AsyncContainer:
    """The one container: the HTTP app adds its request-bound providers, the worker none."""
    return make_async_container(
        InfrastructureProvider(settings),
        PersistenceProvider(),
        HandlersProvider(),
        LlmGatewayProvider(),
        *extra,
    )
