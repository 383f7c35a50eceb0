"""Mailer: RecordingMailer, SmtpMailer (against a real in-process SMTP server)
and FileMailer deliver the same message intact.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from adapters.mail.files import FileMailer
from adapters.mail.smtp import SmtpMailer
from application.ports.mail import Mailer, MailMessage
from tests.fakes.mail import RecordingMailer
from tests.integration.contracts.conftest import closed_port

pytestmark = pytest.mark.integration

SENDER = "SynapScale <no-reply@synapscale.test>"


@dataclass(frozen=True)
class Received:
    to: str
    subject: str
    text: str
    envelope_to: tuple[str, ...] | None = None  # SMTP only: RCPT TO


def parse(raw: bytes, envelope_to: tuple[str, ...] | None = None) -> Received:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    body = message.get_content()
    return Received(
        to=str(message["To"]),
        subject=str(message["Subject"]),
        text=body.replace("\r\n", "\n"),
        envelope_to=envelope_to,
    )


class Collector:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(parse(envelope.content, tuple(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@dataclass
class Subject:
    mailer: Mailer
    inbox: Callable[[], list[Received]]


@pytest.fixture(params=["recording", "smtp", "file"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    if request.param == "recording":
        recording = RecordingMailer()
        yield Subject(
            recording, lambda: [Received(m.to, m.subject, m.text) for m in recording.sent]
        )
    elif request.param == "smtp":
        collector = Collector()
        controller = Controller(
            collector, hostname="127.0.0.1", port=closed_port(), enable_SMTPUTF8=True
        )
        controller.start()
        try:
            mailer = SmtpMailer(
                host="127.0.0.1",
                port=controller.port,
                sender=SENDER,
                start_tls=False,
                use_tls=False,
                timeout=5,
            )
            yield Subject(mailer, lambda: list(collector.received))
        finally:
            controller.stop()
    else:
        directory = tmp_path / "mail"
        yield Subject(
            FileMailer(directory, sender=SENDER),
            lambda: [parse(p.read_bytes()) for p in sorted(directory.glob("*.eml"))],
        )


def message(**overrides: str) -> MailMessage:
    values = {
        "to": "ada@example.com",
        "subject": "Verify your SynapScale email address",
        "text": "Hello Ada,\n\nhttps://app.test/verify-email?token=abc-DEF_123\n",
    }
    values.update(overrides)
    return MailMessage(**values)


def only(subject: Subject) -> Received:
    [received] = subject.inbox()
    return received


async def test_a_message_arrives_with_recipient_subject_and_body(subject: Subject) -> None:
    sent = message()
    await subject.mailer.send(sent)
    received = only(subject)
    assert (received.to, received.subject, received.text) == (sent.to, sent.subject, sent.text)


async def test_unicode_subject_and_body_arrive_intact(subject: Subject) -> None:
    sent = message(subject="Vérifiez votre adresse ✓ — 確認", text="Bonjour Zoë,\n\n🔑 ключ\n")
    await subject.mailer.send(sent)
    received = only(subject)
    assert (received.subject, received.text) == (sent.subject, sent.text)


async def test_a_unicode_recipient_arrives_intact(subject: Subject) -> None:
    sent = message(to="zoë@bücher.example")
    await subject.mailer.send(sent)
    assert only(subject).to == sent.to


async def test_dots_from_lines_and_long_lines_arrive_intact(subject: Subject) -> None:
    text = ".\n.leading dot\nFrom the start of a line\n" + "x" * 1500 + "\n..\nend\n"
    await subject.mailer.send(message(text=text))
    assert only(subject).text == text


async def test_every_message_arrives_in_order(subject: Subject) -> None:
    for n in range(3):
        await subject.mailer.send(message(to=f"user{n}@example.com", subject=f"Mail {n}"))
    assert [r.subject for r in subject.inbox()] == ["Mail 0", "Mail 1", "Mail 2"]


async def test_smtp_delivers_to_the_envelope_recipient() -> None:
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=closed_port())
    controller.start()
    try:
        mailer = SmtpMailer(
            host="127.0.0.1", port=controller.port, sender=SENDER, start_tls=False, timeout=5
        )
        await mailer.send(message(to="grace@example.com"))
    finally:
        controller.stop()
    assert [r.envelope_to for r in collector.received] == [("grace@example.com",)]


# An outage surfaces as ConnectionError from both the SMTP adapter and the fake, so
# the job fails and is retried. (The port's docstring names a MailUnavailable
# error that does not exist anywhere in the code.)


async def test_an_unreachable_smtp_server_fails_the_send_with_a_connection_error() -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=closed_port(), sender=SENDER, timeout=2)
    with pytest.raises(ConnectionError):
        await mailer.send(message())


async def test_the_recording_mailer_fails_the_next_sends_with_a_connection_error() -> None:
    mailer = RecordingMailer(fail_next=2)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            await mailer.send(message())
    await mailer.send(message())
    assert len(mailer.sent) == 1
    assert mailer.attempts == 3
