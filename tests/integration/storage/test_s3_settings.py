"""FILE_STORAGE=s3: its settings are checked at start and the container wires them."""

from __future__ import annotations

from pathlib import Path

import pytest
from dishka import make_async_container

from adapters.storage.local import LocalFileStorage
from adapters.storage.s3 import S3FileStorage
from application.ports.files import FileStorage
from entrypoints.config import ConfigurationError, load_settings
from entrypoints.ioc.infrastructure import InfrastructureProvider
from tests.integration.storage.conftest import S3Server
from tests.integration.storage.test_storage_contract import (
    SMALL,
    chunks,
    listed,
    new_key,
    read_all,
)

pytestmark = pytest.mark.integration

PRODUCTION = {
    "APP_ENV": "production",
    "JWT_SECRET": "Vq3x8WmZ0pL2rT6yK1nB5cD9fG4hJ7sA-strong-enough",
    "FILE_SIGNING_KEY": "another-strong-key-for-signing-file-links-0123",
    "LLM_MASTER_KEYS": "k1:cHJvZHVjdGlvbi10ZXN0LW1hc3Rlci1rZXktMzJieXQ=",
    "DATABASE_URL": "postgresql://db/app",
    "REDIS_URL": "redis://cache:6379/0",
}
S3 = {
    "FILE_STORAGE": "s3",
    "S3_BUCKET": "synapscale-files",
    "S3_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE",
    "S3_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}


@pytest.mark.parametrize("secret", ["", "   ", "change-me", "secret"])
def test_production_refuses_s3_without_a_real_secret_key(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="S3_SECRET_ACCESS_KEY"):
        load_settings({**PRODUCTION, **S3, "S3_SECRET_ACCESS_KEY": secret}, env_file=None)


def test_production_refuses_s3_without_an_access_key_id() -> None:
    with pytest.raises(ConfigurationError, match="S3_ACCESS_KEY_ID"):
        load_settings({**PRODUCTION, **S3, "S3_ACCESS_KEY_ID": ""}, env_file=None)


def test_s3_without_a_bucket_is_refused_everywhere() -> None:
    with pytest.raises(ConfigurationError, match="S3_BUCKET"):
        load_settings({"FILE_STORAGE": "s3"}, env_file=None)


def test_production_starts_with_s3_fully_configured_and_local_needs_no_s3() -> None:
    settings = load_settings({**PRODUCTION, **S3}, env_file=None)
    assert settings.file_storage == "s3"
    assert load_settings(PRODUCTION, env_file=None).file_storage == "local"


async def test_the_container_gives_local_storage_by_default(tmp_path: Path) -> None:
    settings = load_settings({"FILE_STORAGE_DIR": str(tmp_path)}, env_file=None)
    container = make_async_container(InfrastructureProvider(settings))
    try:
        assert isinstance(await container.get(FileStorage), LocalFileStorage)
    finally:
        await container.close()


async def test_the_container_gives_s3_storage_wired_to_the_settings(
    s3_server: S3Server, s3_bucket: str
) -> None:
    settings = load_settings(
        {
            "FILE_STORAGE": "s3",
            "S3_BUCKET": s3_bucket,
            "S3_ENDPOINT_URL": s3_server.endpoint_url,
            "S3_REGION": s3_server.region,
            "S3_ACCESS_KEY_ID": s3_server.access_key_id,
            "S3_SECRET_ACCESS_KEY": s3_server.secret_access_key,
            "S3_PREFIX": "synapscale",
        },
        env_file=None,
    )
    container = make_async_container(InfrastructureProvider(settings))
    try:
        storage = await container.get(FileStorage)
        assert isinstance(storage, S3FileStorage)
        key = new_key()
        await storage.write(key, chunks(SMALL))
        assert await read_all(storage, key) == SMALL
        assert set(await listed(s3_server.storage(s3_bucket))) == {f"synapscale/{key}"}
    finally:
        await container.close()
