from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import structlog

from adapters.mail.smtp import to_email
from application.ports.mail import Mailer, MailMessage

log = structlog.get_logger(__name__)


class FileMailer(Mailer):
    """Development mail: each message becomes an ``.eml`` file to open in any client."""

    def __init__(self, directory: Path, *, sender: str) -> None:
        self._directory = directory
        self._sender = sender

    async def send(self, message: MailMessage) -> None:
        path = await asyncio.to_thread(self._write, message)
        log.info("mail.written", path=str(path), to=message.to, subject=message.subject)

    def _write(self, message: MailMessage) -> Path:
        self._directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self._directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = path.with_suffix(".eml.partial")
        partial.write_bytes(bytes(to_email(message, self._sender)))
        os.replace(partial, path)
        return path
