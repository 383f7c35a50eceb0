from abc import abstractmethod
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True, kw_only=True)
class MailMessage:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    @abstractmethod
    async def send(self, message: MailMessage) -> None:
        """Hand the message over for delivery; raise MailUnavailable on failure."""
