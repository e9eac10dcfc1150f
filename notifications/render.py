"""Every rendering goes through one Jinja2 environment: the emails (one template per kind of
message, with subject, text and HTML blocks) and the pages and exports (the combined timeline).

Autoescaping is on for every ``.j2`` template; undefined variables raise (StrictUndefined).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from core.markup import escape_markdown, escape_markdown_block
from core.names import LINK_GRACE
from models.timeline import COLUMNS, EventDate

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


def human_date(when: EventDate) -> str:
    """A timeline date as people read it: 'Friday 14 March 2025', 'about March 2025', '2025'."""
    if when.precision == "day":
        core = long_date(when.earliest)
    elif when.precision == "month":
        core = f"{when.earliest:%B %Y}"
    else:
        core = f"{when.earliest:%Y}"
    return f"about {core}" if when.approximate else core


@lru_cache(maxsize=4)
def environment(*pages: Path) -> Environment:
    """The one Jinja2 environment (its filters and escaping) over our templates; a surface with
    pages of its own (the portal) passes their folder, searched first."""
    env = Environment(
        loader=FileSystemLoader([*pages, TEMPLATES]),
        autoescape=select_autoescape(enabled_extensions=("j2", "html"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["long_date"] = long_date
    env.filters["human_date"] = human_date
    # Outside text in a markdown template (e.g. the terms of reference) stays literal text.
    env.filters["md"] = escape_markdown
    env.filters["md_block"] = escape_markdown_block
    # The last day an agency's portal link works, given its deadline (services/links.py).
    env.filters["link_expiry"] = lambda due: due + LINK_GRACE
    env.globals["timeline_columns"] = COLUMNS
    return env


def kinds() -> list[str]:
    """Every kind of message there is a template for."""
    return sorted(p.stem.removesuffix(".email") for p in TEMPLATES.glob("*.email.j2"))


def render(kind: str, **context: Any) -> RenderedEmail:
    """Render the ``kind`` message; every variable it uses must be given (StrictUndefined)."""
    template = environment().get_template(f"{kind}.email.j2")
    ctx = template.new_context(context)

    # Autoescaping is on for the HTML; the subject and text blocks render the same markup-free
    # strings, so unescape them (Markup.unescape) to keep "Children's" readable there.
    def block(name: str) -> str:
        return "".join(template.blocks[name](ctx)).strip()

    return RenderedEmail(
        subject=" ".join(Markup(block("subject")).unescape().split()),
        text=Markup(block("text")).unescape() + "\n",
        html=block("html") + "\n",
    )


def render_page(template: str, **context: Any) -> str:
    """Render a whole page or export (``template`` names the file), autoescaped."""
    return environment().get_template(template).render(**context)
