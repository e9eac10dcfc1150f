"""A generated corpus for the anonymisation check: Word, PDF and text reports that each hide
one identifier in one place, made in-process (python-docx and lxml for Word, pypdf for PDF).

The subject is "Quorra Vantablack", born 5 August 2011, of "Flat 9, 112 Wexcombe Road,
Northbridge NB4 7QT"; the board lists her mother, her nickname, her school and a father whose
surname is an everyday word (Green).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.shared import Inches
from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from tests.services.files import docx_bytes

SUBJECT = {
    "full_name": "Quorra Vantablack",
    "date_of_birth": "2011-08-05",
    "address": "Flat 9, 112 Wexcombe Road, Northbridge NB4 7QT",
    "nhs_number": "9434765919",
}
LISTED = [
    ("Kerensa Vaughan", "mother"),
    ("Quoz", "nickname"),
    ("Larkspur Academy", "school"),
    ("Tom Green", "father"),
]
NAME = "Quorra"
CLEAN = "Child Q was seen by the health visitor and the school nurse."
W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class Sample:
    """One generated document: what `add` and `check` must answer, and the place named."""

    id: str
    filename: str
    make: Callable[[], bytes]
    add_code: int = 0
    check_code: int = 1
    expect: str = ""


# --- Word ------------------------------------------------------------------------------------


def _document(*paragraphs: str) -> Any:
    document = docx.Document()
    for text in paragraphs or (CLEAN,):
        document.add_paragraph(text)
    return document


def _with(edit: Callable[[Any], None], *paragraphs: str) -> Callable[[], bytes]:
    def make() -> bytes:
        document = _document(*paragraphs)
        edit(document)
        return docx_bytes(document)

    return make


def _inject(xml: str) -> Callable[[Any], None]:
    """Append ``xml`` (runs, with the w: namespace) to the first paragraph."""

    def edit(document: Any) -> None:
        fragment = parse_xml(f"<w:p {W_NS} {_NS_EXTRA}>{xml}</w:p>")
        for child in list(fragment):
            document.paragraphs[0]._p.append(child)

    return edit


_NS_EXTRA = (
    'xmlns:v="urn:schemas-microsoft-com:vml" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)


def _add_part(data: bytes, name: str, content: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr(name, content)
    return out.getvalue()


def _notes(kind: str) -> Callable[[], bytes]:
    def make() -> bytes:
        xml = (
            f'<w:{kind}s {W_NS}><w:{kind} w:type="separator" w:id="-1"><w:p/></w:{kind}>'
            f'<w:{kind} w:id="1"><w:p><w:r><w:t>Said by {NAME}.</w:t></w:r></w:p></w:{kind}>'
            f"</w:{kind}s>"
        )
        return _add_part(docx_bytes(_document()), f"word/{kind}s.xml", xml)

    return make


def _comment(document: Any) -> None:
    document.add_comment(document.paragraphs[0].runs, text=f"Ask {NAME}", author="Reviewer A")


def _comment_by_listed_name(document: Any) -> None:
    document.add_comment(document.paragraphs[0].runs, text="Check dates", author="K Vaughan")


def _header(which: str, footer: bool = False) -> Callable[[Any], None]:
    def edit(document: Any) -> None:
        section = document.sections[0]
        if which == "first":
            section.different_first_page_header_footer = True
            part = section.first_page_footer if footer else section.first_page_header
        elif which == "even":
            document.settings.odd_and_even_pages_header_footer = True
            part = section.even_page_footer if footer else section.even_page_header
        else:
            part = section.footer if footer else section.header
        part.paragraphs[0].text = f"{NAME} Vantablack"

    return edit


def _nested_table(document: Any) -> None:
    outer = document.add_table(rows=2, cols=1)
    outer.cell(0, 0).text = "Agency"
    outer.cell(1, 0).add_table(rows=1, cols=1).cell(0, 0).text = NAME


def _header_table(document: Any) -> None:
    document.sections[0].header.add_table(1, 1, Inches(4)).cell(0, 0).text = NAME


def _core(field: str, value: str) -> Callable[[Any], None]:
    def edit(document: Any) -> None:
        setattr(document.core_properties, field, value)

    return edit


def _author() -> bytes:
    document = _document()
    data = docx_bytes(document)
    # docx_bytes blanks the author; put one back as a writer's Word would.
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        core = archive.read("docProps/core.xml").decode()
    core = core.replace("<dc:creator/>", "<dc:creator>Quorra Vantablack</dc:creator>")
    core = core.replace("<dc:creator></dc:creator>", "<dc:creator>Quorra Vantablack</dc:creator>")
    return _replace_part(data, "docProps/core.xml", core)


def _replace_part(data: bytes, name: str, content: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            body = content.encode() if item.filename == name else source.read(item.filename)
            target.writestr(item, body)
    return out.getvalue()


def _custom_property() -> bytes:
    xml = (
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
        'docPropsVTypes"><property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" '
        f'name="Client"><vt:lpwstr>{NAME}</vt:lpwstr></property></Properties>'
    )
    return _add_part(docx_bytes(_document()), "docProps/custom.xml", xml)


def png() -> bytes:
    """A 1x1 grey PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80"))
        + chunk(b"IEND", b"")
    )


def _alt_text(document: Any) -> None:
    document.add_picture(io.BytesIO(png()))
    for element in document.element.body.iter():
        if element.tag.endswith("}docPr"):
            element.set("descr", f"Photo of {NAME}")


def _hyperlink(document: Any) -> None:
    rid = document.part.relate_to(
        "https://example.org/quorra-vantablack", RT.HYPERLINK, is_external=True
    )
    _inject(f'<w:hyperlink r:id="{rid}"><w:r><w:t>a link</w:t></w:r></w:hyperlink>')(document)


def _embedded(document: Any) -> None:
    inner = docx_bytes(_document(f"Inner note on {NAME}."))
    part = Part(PackURI("/word/embeddings/inner.docx"), DOCX, inner, document.part.package)
    document.part.relate_to(part, RT.PACKAGE)


def word_samples() -> list[Sample]:
    s = Sample
    return [
        s(
            "docx body",
            "r.docx",
            _with(lambda d: None, CLEAN, f"{NAME} was seen."),
            expect="paragraph 2: subject's name",
        ),
        s("docx footnote", "r.docx", _notes("footnote"), expect="footnote 1: subject's name"),
        s("docx endnote", "r.docx", _notes("endnote"), expect="endnote 1: subject's name"),
        s(
            "docx comment",
            "r.docx",
            _with(_comment),
            expect="comment 1 by Reviewer A: subject's name",
        ),
        s(
            "docx comment author",
            "r.docx",
            _with(_comment_by_listed_name),
            # The place names the author, so a listed name there is shown as "[…]".
            expect="comment 1 by K […], its author: name listed for the review (mother)",
        ),
        s(
            "docx tracked insertion",
            "r.docx",
            _with(_inject(f'<w:ins w:id="1" w:author="A"><w:r><w:t>{NAME}</w:t></w:r></w:ins>')),
            expect="paragraph 1, tracked insertion: subject's name",
        ),
        s(
            "docx tracked deletion",
            "r.docx",
            _with(
                _inject(
                    f'<w:del w:id="1" w:author="A"><w:r><w:delText>{NAME}</w:delText></w:r></w:del>'
                )
            ),
            expect="paragraph 1, tracked deletion: subject's name",
        ),
        s(
            "docx hidden text",
            "r.docx",
            _with(_inject(f"<w:r><w:rPr><w:vanish/></w:rPr><w:t>{NAME}</w:t></w:r>")),
            expect="paragraph 1, hidden text: subject's name",
        ),
        s(
            "docx text box",
            "r.docx",
            _with(
                _inject(
                    f"<w:r><w:pict><v:shape><v:textbox><w:txbxContent><w:p><w:r><w:t>{NAME}</w:t></w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r>"
                )
            ),
            expect="text box 1: subject's name",
        ),
        s(
            "docx content control",
            "r.docx",
            _with(
                _inject(f"<w:sdt><w:sdtContent><w:r><w:t>{NAME}</w:t></w:r></w:sdtContent></w:sdt>")
            ),
            expect="content control 1: subject's name",
        ),
        s(
            "docx field code",
            "r.docx",
            _with(_inject(f"<w:r><w:instrText> MERGEFIELD {NAME} </w:instrText></w:r>")),
            expect="paragraph 1, field code: subject's name",
        ),
        s(
            "docx fldSimple result",
            "r.docx",
            _with(
                _inject(
                    '<w:fldSimple w:instr=" DOCPROPERTY Title ">'
                    f"<w:r><w:t> {NAME}</w:t></w:r></w:fldSimple>"
                )
            ),
            expect="paragraph 1: subject's name",
        ),
        s(
            "docx fldSimple code",
            "r.docx",
            _with(
                _inject(
                    f'<w:fldSimple w:instr=" MERGEFIELD {NAME} ">'
                    "<w:r><w:t>x</w:t></w:r></w:fldSimple>"
                )
            ),
            expect="paragraph 1, field code: subject's name",
        ),
        s(
            "docx default header",
            "r.docx",
            _with(_header("default")),
            expect="header of section 1: subject's name",
        ),
        s(
            "docx first-page header",
            "r.docx",
            _with(_header("first")),
            expect="first-page header of section 1: subject's name",
        ),
        s(
            "docx even-page footer",
            "r.docx",
            _with(_header("even", footer=True)),
            expect="even-page footer of section 1: subject's name",
        ),
        s(
            "docx nested table",
            "r.docx",
            _with(_nested_table),
            expect="table 1, row 2, nested table: subject's name",
        ),
        s(
            "docx table in header",
            "r.docx",
            _with(_header_table),
            expect="header of section 1: subject's name",
        ),
        s(
            "docx title property",
            "r.docx",
            _with(_core("title", f"About {NAME}")),
            expect="document property: title: subject's name",
        ),
        s(
            "docx keywords property",
            "r.docx",
            _with(_core("keywords", NAME)),
            expect="document property: keywords: subject's name",
        ),
        s(
            "docx author property",
            "r.docx",
            _author,
            expect="document property: author: subject's name",
        ),
        s(
            "docx custom property",
            "r.docx",
            _custom_property,
            expect="custom document property 1: subject's name",
        ),
        s(
            "docx image alt text",
            "r.docx",
            _with(_alt_text),
            expect="image 1 alt text: subject's name",
        ),
        s(
            "docx hyperlink target",
            "r.docx",
            _with(_hyperlink),
            expect="hyperlink target in the body: subject's name",
        ),
        s(
            "docx embedded docx",
            "r.docx",
            _with(_embedded),
            expect="embedded document inner.docx → paragraph 1: subject's name",
        ),
        s(
            "docx tracked change, clean text",
            "r.docx",
            _with(_inject('<w:ins w:id="1" w:author="A"><w:r><w:t>seen</w:t></w:r></w:ins>')),
            expect="tracked changes: hidden data; accept or reject all tracked changes first",
        ),
        s("docx clean", "r.docx", _with(lambda d: None), check_code=0),
        s(
            "docx clean, listed words as prose",
            "r.docx",
            _with(lambda d: None, "The green space near the academy trust is a flat 9 miles away."),
            check_code=0,
        ),
    ]


# --- PDF -------------------------------------------------------------------------------------


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _text_page(writer: PdfWriter, text: str) -> Any:
    """A page showing ``text`` in Helvetica (a standard font: no embedding needed)."""
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 72 720 Td ({_pdf_escape(text)}) Tj ET".encode("latin-1"))
    page[NameObject("/Contents")] = writer._add_object(stream)
    return page


def _pdf(
    edit: Callable[[PdfWriter], object] = lambda w: None, text: str = CLEAN
) -> Callable[[], bytes]:
    def make() -> bytes:
        writer = PdfWriter()
        _text_page(writer, text)
        edit(writer)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    return make


def _annotation(writer: PdfWriter) -> None:
    from pypdf.annotations import Text

    writer.add_annotation(0, Text(rect=(50, 550, 200, 650), text=f"Check with {NAME}"))


def _form_field(writer: PdfWriter) -> None:
    field = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/FT"): NameObject("/Tx"),
            NameObject("/T"): TextStringObject("child"),
            NameObject("/V"): TextStringObject(NAME),
            NameObject("/Rect"): ArrayObject([NumberObject(n) for n in (50, 50, 200, 80)]),
        }
    )
    ref = writer._add_object(field)
    writer.pages[0][NameObject("/Annots")] = ArrayObject([ref])
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([ref])}
    )


def _xmp(writer: PdfWriter) -> None:
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:title>{NAME}</dc:title></rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    stream = DecodedStreamObject()
    stream.set_data(xmp.encode())
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
    writer._root_object[NameObject("/Metadata")] = writer._add_object(stream)


def _incremental() -> bytes:
    from pypdf import PdfReader

    first = _pdf(text=f"{NAME} was seen.")()
    writer = PdfWriter(PdfReader(io.BytesIO(first)), incremental=True)
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 72 720 Td ({CLEAN}) Tj ET".encode())
    writer.pages[0][NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _image_only() -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    image = DecodedStreamObject()
    image.set_data(b"\x80")
    image.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(1),
            NameObject("/Height"): NumberObject(1),
            NameObject("/ColorSpace"): NameObject("/DeviceGray"),
            NameObject("/BitsPerComponent"): NumberObject(8),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/Im1"): writer._add_object(image)})}
    )
    contents = DecodedStreamObject()
    contents.set_data(b"q 612 0 0 792 0 0 cm /Im1 Do Q")
    page[NameObject("/Contents")] = writer._add_object(contents)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _encrypted() -> bytes:
    writer = PdfWriter()
    _text_page(writer, CLEAN)
    writer.encrypt("open sesame", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_samples() -> list[Sample]:
    s = Sample
    inner = docx_bytes(_document(f"Notes on {NAME}."))
    return [
        s("pdf page", "r.pdf", _pdf(text=f"Seen: {NAME}."), expect="page 1: subject's name"),
        s(
            "pdf info title",
            "r.pdf",
            _pdf(lambda w: w.add_metadata({"/Title": NAME})),
            expect="document property: title: subject's name",
        ),
        s(
            "pdf info author",
            "r.pdf",
            _pdf(lambda w: w.add_metadata({"/Author": NAME})),
            expect="document property: author: subject's name",
        ),
        s("pdf xmp", "r.pdf", _pdf(_xmp), expect="XMP metadata: subject's name"),
        s(
            "pdf annotation",
            "r.pdf",
            _pdf(_annotation),
            expect="PDF annotation on page 1: subject's name",
        ),
        s("pdf form field", "r.pdf", _pdf(_form_field), expect="form field child: subject's name"),
        s(
            "pdf outline",
            "r.pdf",
            _pdf(lambda w: w.add_outline_item(title=f"About {NAME}", page_number=0)),
            expect="bookmark 1: subject's name",
        ),
        s(
            "pdf attachment",
            "r.pdf",
            _pdf(lambda w: w.add_attachment("report.docx", inner)),
            expect="attachment report.docx → paragraph 1: subject's name",
        ),
        s(
            "pdf earlier revision",
            "r.pdf",
            _incremental,
            expect="earlier revision 1, page 1: subject's name",
        ),
        s("pdf clean", "r.pdf", _pdf(), check_code=0),
        s("pdf image only", "scan.pdf", _image_only, add_code=2, expect="no text layer"),
        s("pdf encrypted", "locked.pdf", _encrypted, add_code=2, expect="is encrypted"),
        s("pdf truncated", "cut.pdf", lambda: _pdf()()[:-200], add_code=2, expect="truncated"),
    ]


# --- text, markdown and the matching ------------------------------------------------------


def _text(text: str) -> Callable[[], bytes]:
    return lambda: f"{CLEAN}\n\n{text}\n".encode()


def text_samples() -> list[Sample]:
    s = Sample
    name, dob, address = "subject's name", "subject's date of birth", "subject's address"
    cases = [
        ("hyphenated across a line end", "r.txt", "Seen with Quor-\nra today.", name),
        ("cut by markup", "r.md", "Seen with Quo**rra** today.", name),
        ("cut by a tag", "r.md", "Seen with Quo<b>rra</b> today.", name),
        ("joined by underscores", "r.md", "see quorra_vantablack_chronology", name),
        ("joined by CamelCase", "r.md", "see QuorraVantablackChronology", name),
        ("zero-width space", "r.txt", "Seen with Quo\u200brra.", name),
        ("soft hyphen", "r.txt", "Seen with Quor\u00adra.", name),
        ("fullwidth letters", "r.txt", "Seen with Ｑｕｏｒｒａ.", name),
        ("a Cyrillic look-alike", "r.txt", "Seen with Quоrra.", name),
        ("an HTML entity", "r.md", "Seen with Quo&#114;ra.", name),
        ("date with an ordinal", "r.txt", "Born on the 5th August 2011.", dob),
        ("date with dashes", "r.txt", "DOB 05-08-2011.", dob),
        ("date with dots and a short year", "r.txt", "DOB 5.8.11.", dob),
        ("date US style", "r.txt", "DOB 08/05/2011.", dob),
        ("date month first", "r.txt", "Born Aug 5th, 2011.", dob),
        ("date without the year", "r.txt", "Her birthday is on 5 August.", dob),
        ("date ISO", "r.txt", "DOB 2011-08-05.", dob),
        ("street line after Flat 9", "r.txt", "She lived at 112 Wexcombe Road.", address),
        ("postcode without its space", "r.txt", "Postcode NB47QT.", address),
        ("NHS number spaced", "r.txt", "NHS 943 476 5919.", "subject's NHS number"),
        ("listed mother", "r.txt", "Kerensa was present.", "name listed for the review (mother)"),
        ("listed nickname", "r.txt", "Known as Quoz.", "name listed for the review (nickname)"),
        ("listed school", "r.txt", "She attended Larkspur.", "name listed for the review (school)"),
        (
            "dictionary-word surname capitalised",
            "r.txt",
            "Mr Green attended.",
            "name listed for the review (father)",
        ),
    ]
    samples = [s(f"text {i}", f, _text(t), expect=f"paragraph 2: {e}") for i, f, t, e in cases]
    samples += [
        s("text clean", "r.md", _text("Child Q's school was told."), check_code=0),
        s(
            "text clean, everyday words",
            "r.txt",
            _text("A green space, an academy trust, a flat 9 miles away, may 5 people come."),
            check_code=0,
        ),
        s(
            "file name joined by underscores",
            "quorra_vantablack_chronology.md",
            _text("x"),
            add_code=2,
            expect="its name holds the subject's name",
        ),
        s(
            "file name CamelCase",
            "QuorraReport.txt",
            _text("x"),
            add_code=2,
            expect="its name holds the subject's name",
        ),
    ]
    return samples


# --- files that cannot be read ---------------------------------------------------------------


def _corrupt_docx() -> bytes:
    data = docx_bytes(_document())
    return _replace_part(data, "word/document.xml", "<w:document><w:body><w:p>")


def zip_bomb(unpacked: int = 40_000_000) -> bytes:
    """A .docx whose one extra part unpacks to ``unpacked`` bytes of zeros."""
    out = io.BytesIO()
    data = docx_bytes(_document())
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        with target.open("word/media/bomb.bin", "w") as member:
            chunk = b"\0" * 1_000_000
            for _ in range(unpacked // len(chunk)):
                member.write(chunk)
    return out.getvalue()


def unreadable_samples() -> list[Sample]:
    s = Sample
    return [
        s(
            "docx corrupt",
            "broken.docx",
            _corrupt_docx,
            add_code=2,
            expect="broken.docx is damaged",
        ),
        s(
            "docx truncated",
            "cut.docx",
            lambda: docx_bytes(_document())[:-300],
            add_code=2,
            expect="cut.docx",
        ),
        s("docx zip bomb", "bomb.docx", zip_bomb, add_code=2, expect="zip bomb"),
        s(
            "unknown type",
            "report.odt",
            lambda: b"PK\x03\x04not really",
            add_code=2,
            expect="report.odt",
        ),
    ]


def all_samples() -> list[Sample]:
    return word_samples() + pdf_samples() + text_samples() + unreadable_samples()
