"""Bounded uploads: zip bombs, oversized sheets and macro files are refused in one line,
before (or while) they are parsed, with the process staying small."""

from __future__ import annotations

import io
import resource
import zipfile

import pytest

from core.limits import QUOTE_MAX, SHEET_MAX_ROWS
from models.documents import DocumentRefused, media_type_of
from models.sheets import TableRejected, read_table

MB = 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _packed_sheet(head: bytes, chunk: bytes, times: int, tail: bytes) -> bytes:
    """An .xlsx whose one sheet is ``head``, ``chunk`` ``times`` over, then ``tail``, written
    packed as it goes: the test never holds the unpacked sheet."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            member.write(head)
            for _ in range(times):
                member.write(chunk)
            member.write(tail)
    return out.getvalue()


def test_a_one_cell_zip_bomb_is_refused_before_parsing_in_little_memory() -> None:
    baseline = _peak_mb()
    bomb = _packed_sheet(
        b"<worksheet><sheetData><row><c t='inlineStr'><is><t>",
        b"A" * MB,
        400,
        b"</t></is></c></row></sheetData></worksheet>",
    )
    assert len(bomb) < 2 * MB
    with pytest.raises(TableRejected) as refused:
        read_table("bomb.xlsx", bomb, old_excel_hint=True)
    message = str(refused.value)
    assert "unpack" in message and len(message) < 300
    assert _peak_mb() < max(500, baseline + 50)  # the process's peak, whatever ran before


def test_a_six_million_row_sheet_is_refused_at_the_door_in_little_memory() -> None:
    # The second bomb: a few MB packed, six million rows (ten thousand at a time).
    baseline = _peak_mb()
    rows = b"<row><c t='inlineStr'><is><t>2026-01-01</t></is></c></row>" * 10_000
    bomb = _packed_sheet(b"<worksheet><sheetData>", rows, 600, b"</sheetData></worksheet>")
    assert len(bomb) < 8 * MB
    with pytest.raises(TableRejected) as refused:
        read_table("rows.xlsx", bomb, old_excel_hint=True)
    assert len(str(refused.value)) < 300
    assert _peak_mb() < max(500, baseline + 50)


def test_too_many_rows_are_refused_while_streaming() -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["date", "what happened"])
    for _ in range(SHEET_MAX_ROWS + 10):
        sheet.append(["2026-01-01", "x"])
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(TableRejected, match="more than"):
        read_table("long.xlsx", out.getvalue(), old_excel_hint=True)


def test_a_long_cell_is_quoted_only_by_a_short_prefix() -> None:
    data = ("heading\n" + "y" * 40_000 + "\n").encode()
    with pytest.raises(TableRejected) as refused:
        read_table("t.csv", data, old_excel_hint=True)
    assert len(str(refused.value)) < 200 + QUOTE_MAX


def _docx(extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def test_macro_files_and_mismatched_names_are_refused_in_one_line() -> None:
    cases = [
        ("draft.docm", _docx(), "macro-enabled"),
        ("draft.docx", _docx({"word/vbaProject.bin": b"\0" * 100}), "carries macros"),
        ("fake.csv", b"%PDF-1.7 not really", "holds a .pdf file"),
        ("report.pdf", _docx(), "holds a .docx file"),
    ]
    for filename, data, complaint in cases:
        with pytest.raises(DocumentRefused) as refused:
            media_type_of(filename, data, max_bytes=10 * MB)
        assert complaint in str(refused.value) and "\n" not in str(refused.value)
    assert media_type_of("draft.docx", _docx(), max_bytes=10 * MB).endswith("document")
