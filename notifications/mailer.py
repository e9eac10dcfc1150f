"""Delivery through Apprise behind one interface, :class:`Mailer` (tests pass any ``send``).

Email goes to ``mailto://`` / ``mailtos://`` URLs from settings. Apprise builds a
multipart/alternative message from our HTML part, deriving the text/plain alternative from it
(links are written with the URL as their text so they survive). A failed send raises
:class:`DeliveryFailed` with the server's reason; nothing is swallowed.

A batch of messages shares one SMTP session (:func:`sending`): connecting, TLS and the login
happen once per batch rather than once per message, which is most of the cost of a message.
Each message is still handed over on its own (one ``MAIL FROM``/``DATA`` each), so the caller
can claim and mark each one exactly as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote

from pydantic import SecretStr

from core.config import check_mail_url


@dataclass(frozen=True)
class Attachment:
    """A stored file sent with a message, under the name (and media type) it goes out as."""

    path: Path
    filename: str
    media_type: str


@dataclass(frozen=True)
class OutgoingMessage:
    key: str
    recipient: str
    subject: str
    text: str
    html: str
    attachment: Attachment | None = None


#: A session unused this long is checked (NOOP) before the next message goes over it.
IDLE_CHECK_SECONDS = 5.0


class DeliveryFailed(RuntimeError):
    """The message was not accepted for delivery."""


class Mailer(Protocol):
    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` or raise :class:`DeliveryFailed`."""


Send = Callable[[OutgoingMessage], None]


@runtime_checkable
class BatchMailer(Mailer, Protocol):
    def session(self) -> contextlib.AbstractContextManager[Send]:
        """A ``send`` that hands each message over one connection kept for the batch."""


@contextmanager
def sending(mailer: Mailer) -> Iterator[Send]:
    """``send`` for a batch: over one SMTP session when the mailer keeps one, else
    ``mailer.send`` for each message."""
    if isinstance(mailer, BatchMailer):
        with mailer.session() as send:
            yield send
    else:
        yield mailer.send


class AppriseMailer:
    """Sends each message to its one recipient through an Apprise email URL."""

    def __init__(self, mail_url: SecretStr, *, setting: str = "REVIEWS_MAIL_URL") -> None:
        # The form now; Apprise's own check when a message is first sent (it costs a second of
        # start-up, and most commands that build a runtime never send).
        check_mail_url(setting, mail_url.get_secret_value(), with_apprise=False)
        self._url = mail_url
        self._setting = setting
        self._checked = False

    def _target(self, message: OutgoingMessage) -> str:
        base = self._url.get_secret_value()
        sep = "&" if "?" in base else "?"
        # The key travels as a header so a receiving system (and our tests) can tell a
        # re-delivery of the same message from a new one.
        return (
            f"{base}{sep}to={quote(message.recipient)}&+X-Reviews-Key={quote(message.key, safe='')}"
        )

    def send(self, message: OutgoingMessage) -> None:
        with self.session() as send:
            send(message)

    @contextmanager
    def session(self) -> Iterator[Send]:
        # Apprise is imported by the commands that send mail, not by every one that starts.
        from notifications.smtp_session import SmtpSession

        if not self._checked:
            check_mail_url(self._setting, self._url.get_secret_value())
            self._checked = True
        smtp = SmtpSession()
        try:
            yield lambda message: smtp.send(self._target(message), message)
        finally:
            smtp.close()
