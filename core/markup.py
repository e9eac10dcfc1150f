"""Outside text made inert for the place it is shown: Prefect markdown, or HTML.

Every text the project's own templates did not write (agencies' timelines and comments,
referral summaries, gate answers, who answered, names of files) passes through one of these
before it reaches a Prefect artifact, a form description, an email or a page. In markdown it
must not become an image (a remote fetch as soon as the chair opens the page), a link, raw
HTML or an autolink; it stays readable once rendered. The only links the project writes into
Prefect markdown point at the board's own portal or workspace (:func:`markdown_link`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

__all__ = ["escape_html", "escape_markdown", "escape_markdown_block", "markdown_link"]

# The characters that open inline markup: code, emphasis and strike-through, link and image
# brackets, table cells, and the backslash itself (a backslash makes each literal).
_BACKSLASHED = frozenset("\\`*_~[]|")
# ``<`` and ``>`` as entities cannot open a tag or an autolink in any renderer; ``@`` as an
# entity breaks GFM's bare-email autolink (``a@b.c``), which matches the raw source.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;"}
# GFM's bare-URL autolinks (``http://…``, ``www.…``) match the raw source too: the colon of a
# scheme (and of ``javascript:`` and its kin) and the dot after ``www`` become entities.
_SCHEME_COLON = re.compile(
    r"(?i):(?=//)|(?<=\bjavascript):|(?<=\bvbscript):|(?<=\bdata):"
    r"|(?<=\bmailto):|(?<=\bxmpp):"
)
_WWW = re.compile(r"(?i)\bwww\.")
# What opens a block at the start of a line: a heading, a list, a rule, a quote (``>`` is an
# entity already), a setext underline or an ordered list's number.
_BLOCK_START = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))")


def _escape_chars(text: str) -> str:
    out = []
    for char in text:
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _BACKSLASHED:
            out.append("\\" + char)
        else:
            out.append(char)
    escaped = _SCHEME_COLON.sub("&#58;", "".join(out))
    escaped = _WWW.sub(lambda m: m.group(0)[:3] + "&#46;", escaped)
    return _BLOCK_START.sub(_escape_block_start, escaped)


def _escape_block_start(match: re.Match[str]) -> str:
    lead, mark = match.group(1), match.group(2)
    return lead + (mark + "\\" if mark[0].isdigit() else "\\" + mark)


def escape_markdown(text: str) -> str:
    """``text`` as literal inline markdown on one line: no image, link, autolink, HTML,
    emphasis, code or table cell break; whitespace (newlines too) collapses to one space."""
    return _escape_chars(" ".join(text.split()))


def escape_markdown_block(text: str, *, prefix: str = "") -> str:
    """``text`` as literal markdown keeping its lines, each line started with ``prefix``
    (e.g. ``"> "`` for a quote); blank lines are kept as paragraph breaks."""
    lines = [" ".join(line.split()) for line in text.strip().splitlines()]
    return "\n".join(f"{prefix}{_escape_chars(line)}".rstrip() for line in lines)


def escape_html(text: str) -> str:
    """``text`` as HTML text or attribute value (quotes escaped too)."""
    return html.escape(text, quote=True)


def markdown_link(text: str, url: str, allowed: Iterable[str]) -> str:
    """A markdown link to ``url`` if it lies under one of the ``allowed`` base URLs (the board's
    own portal and workspace), else the escaped text alone: the link text is always escaped."""
    label = escape_markdown(text)
    for base in allowed:
        root = base.rstrip("/")
        if root and (url == root or url.startswith(root + "/") or url.startswith(root + "?")):
            if not re.fullmatch(r"https?://[^\s()<>\"'\\]+", url):
                break
            return f"[{label}](<{url}>)"
    return label
