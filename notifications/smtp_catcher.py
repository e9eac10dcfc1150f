"""A local SMTP server (aiosmtpd) that keeps what it receives: the demo's mail catcher and the
tests' real SMTP peer. Optionally writes each message to a folder and prints a line."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from core.files import PRIVATE_FILE, private_dir


@dataclass(frozen=True)
class CaughtMessage:
    recipients: tuple[str, ...]
    message: EmailMessage

    # Parsing a header is slow and a simulation reads every message's subject each day.
    @cached_property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @cached_property
    def key(self) -> str:
        return str(self.message["X-Reviews-Key"])

    def part(self, content_type: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return str(part.get_content())
        raise KeyError(content_type)


@dataclass
class Hold:
    """Holds the next message to ``recipient`` mid-transaction (before the server answers),
    so a test can act at that exact moment; ``release`` then answers with ``reply``."""

    recipient: str
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    reply: str = "451 Requested action aborted"

    def release(self, reply: str | None = None) -> None:
        if reply is not None:
            self.reply = reply
        self.released.set()


@dataclass
class _Handler:
    mail_dir: Path | None
    echo: bool
    received: list[CaughtMessage] = field(default_factory=list)
    refuse_with: str | None = None
    holds: list[Hold] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Files are numbered on from what the folder already holds, so a restart keeps old mail.
    written: int = 0

    def __post_init__(self) -> None:
        if self.mail_dir is not None and self.mail_dir.is_dir():
            numbers = [int(p.stem) for p in self.mail_dir.glob("*.eml") if p.stem.isdigit()]
            self.written = max(numbers, default=0)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for hold in list(self.holds):
            if hold.recipient in envelope.rcpt_tos:
                self.holds.remove(hold)
                hold.arrived.set()
                await asyncio.get_running_loop().run_in_executor(None, hold.released.wait, 60)
                return hold.reply
        if self.refuse_with:
            return self.refuse_with
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        caught = CaughtMessage(tuple(envelope.rcpt_tos), parsed)
        with self.lock:
            self.received.append(caught)
            self.written += 1
            number = self.written
        if self.mail_dir is not None:
            # The messages carry agencies' signed links: owner-only, like the rest of var/.
            private_dir(self.mail_dir)
            target = self.mail_dir / f"{number:05d}.eml"
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
            with os.fdopen(fd, "wb") as out:
                out.write(envelope.content)
        if self.echo:
            print(f"mail -> {', '.join(caught.recipients)}: {caught.subject}", flush=True)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpCatcher:
    """A real SMTP server on 127.0.0.1. ``refuse_with`` makes it answer DATA with an error."""

    def __init__(self, port: int | None = None, mail_dir: Path | None = None, echo: bool = False):
        self.port = port or free_port()
        self._handler = _Handler(mail_dir, echo)
        self._controller: Controller | None = None

    @property
    def received(self) -> list[CaughtMessage]:
        with self._handler.lock:
            return list(self._handler.received)

    def hold(self, recipient: str) -> Hold:
        """Hold the next message to ``recipient`` until the returned hold is released."""
        held = Hold(recipient)
        self._handler.holds.append(held)
        return held

    def refuse(self, reply: str | None = "451 Try again later") -> None:
        self._handler.refuse_with = reply

    def url(self, sender: str = "case-reviews@board.example") -> str:
        return f"mailto://127.0.0.1:{self.port}?from={sender}&mode=insecure"

    def start(self) -> SmtpCatcher:
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpCatcher:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
