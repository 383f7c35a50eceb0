from __future__ import annotations

import pytest

from tests.unit.identity.world import World


@pytest.fixture
def world() -> World:
    return World()
