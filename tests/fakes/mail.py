from __future__ import annotations

from application.ports.mail import Mailer, MailMessage


class MailOutage(ConnectionError):
    """What a fake mail server going away looks like."""


class RecordingMailer(Mailer):
    """Keeps what it was given; ``fail_next`` sends fail before any succeeds."""

    def __init__(self, *, fail_next: int = 0) -> None:
        self.sent: list[MailMessage] = []
        self.fail_next = fail_next
        self.attempts = 0

    async def send(self, message: MailMessage) -> None:
        self.attempts += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            raise MailOutage("the mail server is unavailable")
        self.sent.append(message)

    def last_to(self, address: str) -> MailMessage:
        for message in reversed(self.sent):
            if message.to == address:
                return message
        raise AssertionError(f"no mail was sent to {address}")
