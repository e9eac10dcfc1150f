"""Email rendering: one Jinja2 template per kind of message, with subject, text and HTML blocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def long_date(value: date | None) -> str:
    """Dates as people write them: 'Friday 27 November 2026'."""
    if value is None:
        return "no date set"
    return f"{value:%A} {value.day} {value:%B %Y}"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("j2",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["long_date"] = long_date
    return env


def kinds() -> list[str]:
    """Every kind of message there is a template for."""
    return sorted(p.stem.removesuffix(".email") for p in TEMPLATES.glob("*.email.j2"))


def render(kind: str, **context: Any) -> RenderedEmail:
    """Render the ``kind`` message; every variable it uses must be given (StrictUndefined)."""
    template = _environment().get_template(f"{kind}.email.j2")
    ctx = template.new_context(context)
    # Autoescaping is on for the HTML; the subject and text blocks render the same markup-free
    # strings, so unescape them (Markup.unescape) to keep "Children's" readable there.
    from markupsafe import Markup

    def block(name: str) -> str:
        return "".join(template.blocks[name](ctx)).strip()

    return RenderedEmail(
        subject=" ".join(Markup(block("subject")).unescape().split()),
        text=Markup(block("text")).unescape() + "\n",
        html=block("html") + "\n",
    )
