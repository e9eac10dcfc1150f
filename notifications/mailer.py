"""Delivery through Apprise behind one interface, :class:`Mailer` (tests pass any ``send``).

Email goes to ``mailto://`` / ``mailtos://`` URLs from settings. Apprise builds a
multipart/alternative message from our HTML part, deriving the text/plain alternative from it
(links are written with the URL as their text so they survive). A failed send raises
:class:`DeliveryFailed` with Apprise's reason; nothing is swallowed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import apprise
from apprise.attachment.file import AttachFile
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


class DeliveryFailed(RuntimeError):
    """The message was not accepted for delivery."""


class Mailer(Protocol):
    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` or raise :class:`DeliveryFailed`."""


class AppriseMailer:
    """Sends each message to its one recipient through an Apprise email URL."""

    def __init__(self, mail_url: SecretStr, *, setting: str = "REVIEWS_MAIL_URL") -> None:
        check_mail_url(setting, mail_url.get_secret_value())
        self._url = mail_url

    def _target(self, message: OutgoingMessage) -> str:
        base = self._url.get_secret_value()
        sep = "&" if "?" in base else "?"
        # The key travels as a header so a receiving system (and our tests) can tell a
        # re-delivery of the same message from a new one.
        return (
            f"{base}{sep}to={quote(message.recipient)}&+X-Reviews-Key={quote(message.key, safe='')}"
        )

    def send(self, message: OutgoingMessage) -> None:
        notifier = apprise.Apprise()
        notifier.add(self._target(message))
        attach = None
        if message.attachment is not None:
            found = message.attachment
            if not found.path.is_file():
                raise DeliveryFailed(f"attachment {found.filename}: the stored file is missing")
            attach = apprise.AppriseAttachment()
            attach.add(
                AttachFile(  # type: ignore[no-untyped-call]
                    str(found.path), name=found.filename, mimetype=found.media_type
                )
            )
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            delivered = notifier.notify(
                title=message.subject,
                body=message.html,
                body_format=apprise.NotifyFormat.HTML,
                attach=attach,
            )
        if not delivered:
            reason = " ".join(str(captured.getvalue()).split()) or "Apprise reported a failure"
            raise DeliveryFailed(reason[:500])
