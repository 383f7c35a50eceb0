"""A real S3-compatible server for the storage tests: moto in server mode.

Started once per session on a free loopback port, only when a test asks for
it; each test gets a bucket of its own. Set TEST_S3_ENDPOINT_URL (with
TEST_S3_ACCESS_KEY_ID / TEST_S3_SECRET_ACCESS_KEY) to use a server of your own
instead, e.g. a MinIO, whose credentials may create buckets.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from moto.server import ThreadedMotoServer
from obstore.store import S3Store

from adapters.storage.local import LocalFileStorage
from adapters.storage.s3 import S3FileStorage
from application.ports.files import FileStorage
from tests.fakes.storage import InMemoryFileStorage

# Part size of the S3 variant: S3's minimum, so a few-MiB blob takes several parts.
TEST_PART_SIZE = 5 << 20


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"

    def create_bucket(self) -> str:
        """A new empty bucket. moto takes any credentials and no signature."""
        bucket = f"test-{uuid.uuid4().hex[:20]}"
        response = httpx.put(f"{self.endpoint_url}/{bucket}", timeout=10)
        response.raise_for_status()
        return bucket

    def pending_uploads(self, bucket: str) -> list[str]:
        """Keys with a multipart upload started and neither completed nor aborted."""
        response = httpx.get(f"{self.endpoint_url}/{bucket}?uploads", timeout=10)
        response.raise_for_status()
        return _xml_values(response.text, "Key")

    def parts(self, bucket: str, key: str, upload_id: str) -> int:
        response = httpx.get(
            f"{self.endpoint_url}/{bucket}/{key}", params={"uploadId": upload_id}, timeout=10
        )
        response.raise_for_status()
        return len(_xml_values(response.text, "PartNumber"))

    def upload_ids(self, bucket: str) -> list[str]:
        response = httpx.get(f"{self.endpoint_url}/{bucket}?uploads", timeout=10)
        response.raise_for_status()
        return _xml_values(response.text, "UploadId")

    def object_store(self, bucket: str) -> S3Store:
        """The bucket through obstore directly, below the adapter."""
        return S3Store(
            bucket,
            endpoint=self.endpoint_url,
            region=self.region,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            client_options={"allow_http": True},
        )

    def storage(
        self,
        bucket: str,
        *,
        prefix: str = "",
        part_size: int = TEST_PART_SIZE,
        upload_concurrency: int = 2,
    ) -> S3FileStorage:
        return S3FileStorage.connect(
            bucket=bucket,
            endpoint_url=self.endpoint_url,
            region=self.region,
            access_key_id=self.access_key_id,
            secret_access_key=self.secret_access_key,
            prefix=prefix,
            part_size=part_size,
            upload_concurrency=upload_concurrency,
        )


def _xml_values(document: str, tag: str) -> list[str]:
    root = ElementTree.fromstring(document)  # noqa: S314 - the test's own server answered
    return [el.text or "" for el in root.iter() if el.tag.rsplit("}", 1)[-1] == tag]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    endpoint = os.environ.get("TEST_S3_ENDPOINT_URL", "")
    if endpoint:
        yield S3Server(
            endpoint.rstrip("/"),
            os.environ.get("TEST_S3_ACCESS_KEY_ID", ""),
            os.environ.get("TEST_S3_SECRET_ACCESS_KEY", ""),
        )
        return
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}", "test-access-key", "test-secret-key")
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    return s3_server.create_bucket()


@pytest.fixture(params=["in_memory", "local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FileStorage]:
    """Each implementation of the port, empty."""
    if request.param == "in_memory":
        yield InMemoryFileStorage()
    elif request.param == "local":
        yield LocalFileStorage(tmp_path / "root")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        bucket: str = request.getfixturevalue("s3_bucket")
        yield server.storage(bucket)
