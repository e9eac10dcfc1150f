"""Every place a Word (.docx) file holds text, read from its OOXML parts with lxml.

The zip is checked (:func:`core.archives.check_zip`) before any part is read, and each part is
read through :func:`core.archives.read_member`, so a zip bomb is refused unpacked. Places are
named as a redactor would look for them: "paragraph 7", "table 1, row 3", "footnote 2",
"comment 1 by J. Smith", "paragraph 4, tracked deletion", "first-page header of section 1",
"document property: author", "embedded document x.docx → paragraph 2".
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from posixpath import dirname, join, normpath

from lxml import etree

from core.archives import ArchiveRefused, check_zip, read_member
from models.documents.reading import Places, Reading, Unreadable

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
CUSTOM = "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"
MAIN_PART = "word/document.xml"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
_TRACKED = {f"{{{W}}}{t}" for t in ("ins", "del", "moveFrom", "moveTo")}
_CHANGES = _TRACKED | {f"{{{W}}}{t}" for t in ("rPrChange", "pPrChange", "sectPrChange")}
_PROPERTY_NAMES = {"creator": "author", "lastModifiedBy": "last modified by"}
_PERSONAL = ("creator", "lastModifiedBy")
_SETUP = {
    f"word/{name}.xml"
    for name in ("styles", "stylesWithEffects", "settings", "numbering", "fontTable", "webSettings")
}
MAX_DEPTH = 3
"""How deep documents embedded in documents are read; deeper ones are refused."""


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


class _Package:
    """The checked zip and its parts, parsed on demand."""

    def __init__(self, data: bytes, what: str) -> None:
        self.what = what
        try:
            self.archive: zipfile.ZipFile = check_zip(data, what=what)
        except ArchiveRefused as refused:
            raise Unreadable(str(refused).removeprefix(f"{what}: ")) from None
        self.names = set(self.archive.namelist())

    def raw(self, name: str) -> bytes:
        try:
            return read_member(self.archive, name, what=self.what)
        except ArchiveRefused as refused:
            raise Unreadable(str(refused).removeprefix(f"{self.what}: ")) from None

    def xml(self, name: str) -> etree._Element | None:
        if name not in self.names:
            return None
        try:
            return etree.fromstring(self.raw(name), _PARSER)
        except etree.XMLSyntaxError:
            raise Unreadable(f"is damaged (its part {name[:60]} is not well-formed XML)") from None

    def relationships(self, part: str) -> dict[str, tuple[str, str, bool]]:
        """Relationship id → (type, target, external) of ``part``."""
        rels = self.xml(join(dirname(part), "_rels", part.rsplit("/", 1)[-1] + ".rels"))
        found: dict[str, tuple[str, str, bool]] = {}
        for rel in [] if rels is None else rels.iter(f"{{{REL}}}Relationship"):
            external = rel.get("TargetMode") == "External"
            target = rel.get("Target", "")
            if not external:
                target = normpath(join(dirname(part), target)).lstrip("/")
            found[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], target, external)
        return found


def _paragraph_of(node: etree._Element) -> etree._Element | None:
    for ancestor in node.iterancestors(_w("p")):
        return ancestor
    return None


def _channel(node: etree._Element) -> str:
    """What kind of text a text node is: shown, a tracked change, a field code, hidden."""
    if node.tag == _w("delText") or any(True for _ in node.iterancestors(_w("moveFrom"))):
        return ", tracked deletion"
    if node.tag == _w("instrText"):
        return ", field code"
    run = node.getparent()
    if run is not None and run.find(f"{_w('rPr')}/{_w('vanish')}") is not None:
        return ", hidden text"
    if any(True for _ in node.iterancestors(_w("ins"), _w("moveTo"))):
        return ", tracked insertion"
    return ""


def _in_fallback(node: etree._Element) -> bool:
    return any(True for _ in node.iterancestors(f"{{{MC}}}Fallback"))


class _Numbering:
    """Numbers text boxes, content controls and tables in the order the part holds them."""

    def __init__(self, root: etree._Element) -> None:
        self.index: dict[etree._Element, str] = {}
        for tag, label in (("txbxContent", "text box"), ("sdt", "content control")):
            boxes = [e for e in root.iter(_w(tag)) if not _in_fallback(e)]
            self.index.update({e: f"{label} {n}" for n, e in enumerate(boxes, 1)})

    def container(self, node: etree._Element) -> str | None:
        for ancestor in node.iterancestors(_w("txbxContent"), _w("sdt")):
            return self.index.get(ancestor)
        return None


def _body_label(
    node: etree._Element, body: etree._Element, numbers: dict[etree._Element, int]
) -> str:
    """'paragraph N' for the body's own paragraphs, 'table T, row R[, nested table]'."""
    top = node
    tables = []
    for ancestor in node.iterancestors():
        if ancestor.tag == _w("tbl"):
            tables.append(ancestor)
        if ancestor is body:
            break
        top = ancestor
    if top.tag == _w("tbl"):
        row = next(node.iterancestors(_w("tr")))
        rows = [r for r in top.iterchildren(_w("tr"))]
        outer_row = row if row in rows else next(r for r in rows if row in r.iterdescendants())
        nested = ", nested table" if len(tables) > 1 else ""
        return f"table {numbers.get(top, 0)}, row {rows.index(outer_row) + 1}{nested}"
    return f"paragraph {numbers.get(top, 1)}"


def _body_numbers(body: etree._Element) -> dict[etree._Element, int]:
    """The body's paragraphs numbered as shown (counting those holding text) and its tables."""
    numbers: dict[etree._Element, int] = {}
    shown = tables = 0
    for child in body:
        if child.tag == _w("tbl"):
            tables += 1
            numbers[child] = tables
        elif child.tag == _w("p"):
            text = "".join(
                t.text or "" for t in child.iter(_w("t")) if not _channel(t) and not _in_fallback(t)
            )
            shown += 1 if text.strip() else 0
            numbers[child] = max(shown, 1)
    return numbers


def _fixed(label: str) -> Callable[[etree._Element], str | None]:
    """A labeller that names every text of a part (a note, a header) by one place."""
    return lambda _node: label


def _texts(root: etree._Element, label: Callable[[etree._Element], str | None]) -> Places:
    """Each place's text: runs joined within a paragraph, paragraphs by line breaks."""
    numbering = _Numbering(root)
    grouped: dict[str, dict[int, list[str]]] = {}
    for node in root.iter(_w("t"), _w("delText"), _w("instrText")):
        if not node.text or _in_fallback(node):
            continue
        base = numbering.container(node) or label(node)
        if base is None:
            continue
        paragraph = _paragraph_of(node)
        key = id(paragraph) if paragraph is not None else id(node)
        grouped.setdefault(base + _channel(node), {}).setdefault(key, []).append(node.text)
    for simple in root.iter(_w("fldSimple")):
        base = numbering.container(simple) or label(simple) or "field"
        grouped.setdefault(f"{base}, field code", {})[id(simple)] = [simple.get(_w("instr"), "")]
    for n, drawing in enumerate(root.iter(f"{{{WP}}}docPr"), 1):
        alt = " ".join(filter(None, (drawing.get("descr"), drawing.get("title"))))
        if alt:
            grouped.setdefault(f"image {n} alt text", {})[id(drawing)] = [alt]
    return [
        (place, "\n".join("".join(runs) for runs in paragraphs.values()))
        for place, paragraphs in grouped.items()
    ]


def _main_places(package: _Package) -> tuple[Places, list[str]]:
    root = package.xml(MAIN_PART)
    if root is None:
        raise Unreadable("is not a Word document (it has no word/document.xml)")
    body = root.find(_w("body"))
    if body is None:
        raise Unreadable("is damaged (word/document.xml has no body)")
    numbers = _body_numbers(body)
    places = _texts(root, lambda node: _body_label(node, body, numbers))
    return places, _header_footer_parts(package, body)


def _header_footer_parts(package: _Package, body: etree._Element) -> list[str]:
    """(label, part) of every header and footer, by section and kind (default, first, even)."""
    rels = package.relationships(MAIN_PART)
    labelled: list[str] = []
    for s, section in enumerate(body.iter(_w("sectPr")), 1):
        for ref in section.iterchildren(_w("headerReference"), _w("footerReference")):
            kind = "header" if ref.tag == _w("headerReference") else "footer"
            which = {"first": "first-page ", "even": "even-page "}.get(ref.get(_w("type"), ""), "")
            target = rels.get(ref.get(f"{{{R}}}id", ""), ("", "", False))[1]
            if target:
                labelled.append(f"{which}{kind} of section {s}\t{target}")
    return labelled


def _notes(package: _Package, part: str, tag: str, label: str) -> Places:
    root = package.xml(part)
    if root is None:
        return []
    places: Places = []
    for n, note in enumerate(
        (e for e in root.iterchildren(_w(tag)) if e.get(_w("type")) is None), 1
    ):
        place = f"{label} {n}"
        if tag == "comment":
            author = " ".join(filter(None, (note.get(_w("author")), note.get(_w("initials")))))
            place = f"{label} {n} by {note.get(_w('author')) or 'an unnamed author'}"
            places.append((f"{place}, its author", author))
        places += _texts(note, _fixed(place))
    return places


def _properties(package: _Package) -> Places:
    places: Places = []
    for part in ("docProps/core.xml", "docProps/app.xml"):
        root = package.xml(part)
        for element in [] if root is None else root.iter():
            name = etree.QName(element).localname
            if isinstance(element.tag, str) and element.text and element.text.strip():
                label = _PROPERTY_NAMES.get(name, name.casefold())
                places.append((f"document property: {label}", element.text))
    custom = package.xml("docProps/custom.xml")
    for n, prop in enumerate([] if custom is None else custom.iter(f"{{{CUSTOM}}}property"), 1):
        value = " ".join(t.strip() for t in prop.itertext() if t.strip())
        places.append((f"custom document property {n}", f"{prop.get('name', '')}\n{value}"))
    return places


def _links_and_embeddings(package: _Package, parts: list[str], depth: int) -> Reading:
    reading = Reading()
    for part in parts:
        for _rid, (kind, target, external) in package.relationships(part).items():
            if external:
                reading.places.append((f"hyperlink target in {_part_label(part)}", target))
            elif kind in {"package", "oleObject"} and target in package.names:
                reading.extend(_embedded(package, target, depth))
    return reading


def _embedded(package: _Package, target: str, depth: int) -> Reading:
    from models.documents.reading import read_embedded

    name = target.rsplit("/", 1)[-1]
    return read_embedded(f"embedded document {name}", name, package.raw(target), depth + 1)


def _part_label(part: str) -> str:
    return "the body" if part == MAIN_PART else part.rsplit("/", 1)[-1].removesuffix(".xml")


def _hidden(package: _Package) -> list[str]:
    """Why the file may not be published as it is, whatever the check finds."""
    reasons: list[str] = []
    parts = [
        n
        for n in package.names
        if n.startswith("word/") and n.endswith(".xml") and n.count("/") == 1 and n not in _SETUP
    ]
    roots = [r for r in map(package.xml, sorted(parts)) if r is not None]
    if any(True for root in roots for _ in root.iter(*_CHANGES)):
        reasons.append("tracked changes: accept or reject all tracked changes first")
    comments = package.xml("word/comments.xml")
    if comments is not None and comments.find(_w("comment")) is not None:
        reasons.append("comments: delete all comments first")
    runs = (v.getparent() for root in roots for v in root.iter(_w("vanish")))
    if any(
        p is not None and p.getparent() is not None and p.getparent().tag == _w("r") for p in runs
    ):
        reasons.append("hidden text: delete the hidden text or make it visible first")
    core = package.xml("docProps/core.xml")
    for element in [] if core is None else core.iter():
        personal = isinstance(element.tag, str) and etree.QName(element).localname in _PERSONAL
        if personal and (element.text or "").strip():
            label = _PROPERTY_NAMES[etree.QName(element).localname]
            reasons.append(f"document property: {label}: remove personal information first")
    if package.xml("docProps/custom.xml") is not None:
        reasons.append("custom document properties: remove them first")
    return reasons


def read_docx(data: bytes, *, what: str = "file", depth: int = 0) -> Reading:
    """Every place the Word file holds text, and why it may not be published as it is."""
    package = _Package(data, what)
    places, headers = _main_places(package)
    reading = Reading(places=places)
    parts = [MAIN_PART]
    for labelled in headers:
        label, part = labelled.split("\t")
        root = package.xml(part)
        if root is not None:
            reading.places += _texts(root, _fixed(label))
            parts.append(part)
    for part, tag, label in (
        ("word/footnotes.xml", "footnote", "footnote"),
        ("word/endnotes.xml", "endnote", "endnote"),
        ("word/comments.xml", "comment", "comment"),
    ):
        reading.places += _notes(package, part, tag, label)
        parts.append(part)
    reading.places += _properties(package)
    reading.extend(_links_and_embeddings(package, parts, depth))
    reading.hidden += _hidden(package)
    return reading
