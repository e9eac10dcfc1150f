"""One SMTP session, opened the way Apprise's email plugin opens it (see notifications.mailer).

Kept apart from the mailer's interface so that importing the mailer does not import Apprise:
only a process that sends mail pays for it.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from contextlib import suppress

import apprise
from apprise.attachment.file import AttachFile
from apprise.plugins.email import NotifyEmail, SecureMailMode

from notifications.mailer import IDLE_CHECK_SECONDS, DeliveryFailed, OutgoingMessage


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


class SmtpSession:
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
