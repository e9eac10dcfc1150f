"""Text as the anonymisation check reads it: folded so that a name cannot hide behind
Unicode, markup, line breaks or joined words.

:func:`fold` returns the variants of a text that are searched (the same text with markup
joined and with line-end hyphens joined); :func:`words` splits them into case-folded words,
splitting also on ``_``, CamelCase and markup, and keeping each joined word as well.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e\u034f"), None)
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"), "-")
_INLINE_MARKUP = re.compile(r"(?<=\w)(?:[*~`]+|<[^<>\n]{0,80}>)(?=\w)|[*~`]+")
_TAGS = re.compile(r"<[^<>\n]{0,200}>")
_LINE_END_HYPHEN = re.compile(r"(\w)-[ \t]*\r?\n[ \t]*(\w)")
_WORD = re.compile(r"\w+")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


@lru_cache(maxsize=1)
def _confusables() -> dict[int, str]:
    """Each non-ASCII character Unicode lists as confusable with an ASCII letter or digit,
    mapped to that letter (Unicode's confusables.txt, as ``confusable-homoglyphs`` packages it)."""
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[int, str] = {}
    for character, homoglyphs in confusables_data.items():
        if len(character) != 1 or character.isascii():
            continue
        ascii_forms = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"].isalnum()]
        ascii_forms = [c for c in ascii_forms if c.isascii()]
        if ascii_forms:
            table[ord(character)] = sorted(ascii_forms, key=lambda c: (not c.islower(), c))[0]
    return table


def clean(text: str) -> str:
    """The text with entities decoded, NFKC applied, invisible characters and soft hyphens
    removed, dashes made ``-`` and look-alike letters folded to the Latin letter (case kept)."""
    for _ in range(2):  # "&amp;#81;" is an entity inside an entity
        text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).translate(_DASHES)
    if not text.isascii():
        text = text.translate(_confusables())
    return text


def fold(text: str) -> tuple[str, ...]:
    """The variants of ``text`` that are searched, each :func:`clean`: as written (tags read as
    spaces), with markup inside a word joined (``Quo**rra**``, ``Quo<b>rra</b>``), and with a
    word hyphenated across a line end joined ("Quor-" / "ra")."""
    text = clean(text)
    joined = _INLINE_MARKUP.sub("", text)
    dehyphenated = _LINE_END_HYPHEN.sub(r"\1\2", joined)
    return (_TAGS.sub(" ", text), joined, dehyphenated)


def _split(word: str) -> list[str]:
    parts = [p for p in word.split("_") if p]
    out = [word, *parts]
    for part in parts:
        out += _CAMEL.findall(part)
    return out


def cased_words(text: str) -> frozenset[str]:
    """Every word of every variant, case kept: split on spaces, punctuation, ``_`` and
    CamelCase, each joined word kept too (``QuorraVantablack`` gives three)."""
    found: set[str] = set()
    for variant in fold(text):
        for word in _WORD.findall(variant):
            found.update(_split(word))
    return frozenset(found)


def words(text: str) -> frozenset[str]:
    """:func:`cased_words`, case-folded."""
    return frozenset(w.casefold() for w in cased_words(text))
