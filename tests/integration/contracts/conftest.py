"""Shared pieces of the contract suites.

Every suite has a fixture parametrised over the implementations of one port:
the fake from ``tests/fakes`` and the real adapter. The fake variants need no
server, so they run even where PostgreSQL or Redis cannot start; the real
variants ask for the session servers (and ``clean``) only when selected.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes.system import FakeClock, SequentialIds
from tests.integration.contracts.storage import Backend, InMemoryBackend, PostgresBackend


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ids() -> SequentialIds:
    return SequentialIds()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["in_memory", "postgres"])
def backend(
    request: pytest.FixtureRequest, clock: FakeClock, ids: SequentialIds
) -> Iterator[Backend]:
    if request.param == "in_memory":
        yield InMemoryBackend(clock, ids)
    else:
        engine: AsyncEngine = request.getfixturevalue("engine")
        request.getfixturevalue("clean")
        yield PostgresBackend(engine, clock, ids)
