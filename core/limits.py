"""Size limits on every free-text field, defined once (referrals, gate answers, the portal).

A 5 MB summary used to be copied into every gate description and a 2 MB rationale into an
email. The limits are generous for what each field is for; a longer text belongs in a
document, not a form. Gate answers also refuse whitespace-only text: their forms are Prefect
RunInput JSON schemas, so the ``pattern`` makes the Prefect server itself refuse a blank answer
(the run stays at its gate with the reason), before the flow sees it.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

NAME_MAX = 200
"""A person's, agency's or reviewer's name; who recorded an answer."""
TEXT_MAX = 5_000
"""A rationale, a reason, key learning, a note, one timeline cell (~800 words)."""
SUMMARY_MAX = 20_000
"""The referral's summary of circumstances (~3,000 words), shown on every gate's form."""

NOT_BLANK = r"\S"  # JSON Schema patterns search: at least one non-space character
BLANK_OR_TEXT = r"^$|\S"  # optional text: empty, or not only spaces

Name = Annotated[str, Field(max_length=NAME_MAX)]
Text = Annotated[str, Field(max_length=TEXT_MAX)]
Summary = Annotated[str, Field(min_length=1, max_length=SUMMARY_MAX)]

AnswerName = Annotated[str, Field(max_length=NAME_MAX, pattern=NOT_BLANK)]
AnswerText = Annotated[str, Field(max_length=TEXT_MAX, pattern=NOT_BLANK)]
OptionalAnswerText = Annotated[str, Field(max_length=TEXT_MAX, pattern=BLANK_OR_TEXT)]

# --- zip-based uploads (Word, Excel): checked before they are parsed (core/archives.py) ------
ZIP_MAX_UNPACKED_BYTES = 100_000_000
"""All the parts of one .docx or .xlsx together, unpacked (a long report with images is ~30 MB)."""
ZIP_MAX_MEMBERS = 2_000
"""Parts in one .docx or .xlsx (a long report holds a few hundred)."""
ZIP_MAX_RATIO = 200
"""How many times its packed size one part may unpack to (XML packs ~10x; a bomb 1,000x+)."""

# --- spreadsheets (timelines, action plans): read streaming, within these -------------------
SHEET_MAX_ROWS = 20_000
"""Rows in one uploaded timeline or plan (a long timeline has a few hundred)."""
SHEET_MAX_COLUMNS = 100
"""Columns in one uploaded sheet (the templates have under twenty)."""
SHEET_MAX_CELL_CHARS = 32_767
"""Characters in one cell (Excel's own limit)."""
QUOTE_MAX = 60
"""The most of an uploaded cell or name an error message repeats."""

MACRO_PARTS = ("vbaproject.bin", "vbadata.xml")
"""Office parts that carry macros: a file holding one is refused."""
MACRO_SUFFIXES = frozenset({".docm", ".dotm", ".xlsm", ".xltm", ".xlam", ".pptm"})
"""Macro-enabled Office file names: refused whatever they hold."""
