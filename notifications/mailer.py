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
import smtplib
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote

import apprise
from apprise.attachment.file import AttachFile
from apprise.plugins.email import NotifyEmail, SecureMailMode
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
        with self.session() as send:
            send(message)

    @contextmanager
    def session(self) -> Iterator[Send]:
        smtp = _SmtpSession()
        try:
            yield lambda message: smtp.send(self._target(message), message)
        finally:
            smtp.close()


def _attachments(message: OutgoingMessage) -> apprise.AppriseAttachment | None:
    if message.attachment is None:
        return None
    found = message.attachment
    if not found.path.is_file():
        raise DeliveryFailed(f"attachment {found.filename}: the stored file is missing")
    attach = apprise.AppriseAttachment()
    attach.add(
        AttachFile(  # type: ignore[no-untyped-call]
            str(found.path), name=found.filename, mimetype=found.media_type
        )
    )
    return attach


def _tls(plugin: NotifyEmail) -> ssl.SSLContext:
    """A TLS context that verifies the server unless the URL says not to (loading the system's
    certificates is slow: only connections that use TLS build one)."""
    context = ssl.create_default_context()
    if not plugin.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


#: What the email plugin read from the URL, passed on as it would pass it.
_AS_CONFIGURED = (
    "cc",
    "bcc",
    "reply_to",
    "smtp_host",
    "names",
    "pgp",
    "pgp_mode",
    "inline",
    "tzinfo",
)


class _SmtpSession:
    """One SMTP connection, opened at the first message as Apprise's email plugin opens it
    (SSL, STARTTLS or plain; login when the URL has credentials) and reopened after a
    connection error. Apprise's plugin builds every message (``NotifyEmail.prepare_emails``)."""

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None
        self._server: tuple[str, int] | None = None
        self._used = 0.0

    def _connect(self, plugin: NotifyEmail) -> smtplib.SMTP:
        server = (str(plugin.smtp_host), int(plugin.port or 0))
        if self._smtp is not None and self._server == server:
            idle = time.monotonic() - self._used
            try:  # a server may drop an idle session: check it before handing over the next
                if idle < IDLE_CHECK_SECONDS or self._smtp.noop()[0] == 250:
                    return self._smtp
            except (OSError, smtplib.SMTPException):
                pass
        self.close()
        timeout = plugin.socket_connect_timeout
        smtp: smtplib.SMTP
        if plugin.secure_mode == SecureMailMode.SSL:
            smtp = smtplib.SMTP_SSL(*server, timeout=timeout, context=_tls(plugin))
        else:
            smtp = smtplib.SMTP(*server, timeout=timeout)
        if plugin.secure_mode == SecureMailMode.STARTTLS:
            smtp.starttls(context=_tls(plugin))
        if plugin.user and plugin.password:
            smtp.login(plugin.user, plugin.password)
        self._smtp, self._server = smtp, server
        return smtp

    def send(self, url: str, message: OutgoingMessage) -> None:
        plugin = apprise.Apprise.instantiate(url)
        if not isinstance(plugin, NotifyEmail):
            raise DeliveryFailed(f"{message.recipient}: not a usable email address")
        built = NotifyEmail.prepare_emails(
            subject=message.subject,
            body=message.html,
            notify_format=apprise.NotifyFormat.HTML,
            from_addr=plugin.from_addr,
            to=plugin.targets,
            attach=_attachments(message),
            headers={"X-Application": plugin.app_id, **plugin.headers},
            **{name: getattr(plugin, name) for name in _AS_CONFIGURED},
        )
        try:
            smtp = self._connect(plugin)
            for email in built:
                smtp.sendmail(str(plugin.from_addr[1]), email.to_addrs, email.body)
            self._used = time.monotonic()
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise DeliveryFailed(" ".join(str(exc).split())[:500]) from None
        except smtplib.SMTPResponseException as exc:
            # The server refused this message; the session stays usable for the next one.
            raise DeliveryFailed(f"{exc.smtp_code} {exc.smtp_error!r}"[:500]) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()  # a broken connection: the next message opens a new one
            raise DeliveryFailed(" ".join(str(exc).split())[:500] or type(exc).__name__) from None

    def close(self) -> None:
        if self._smtp is not None:
            with suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
        self._smtp = self._server = None
