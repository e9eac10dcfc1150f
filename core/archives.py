"""Zip-based uploads (Word, Excel) are opened only after their central directory is checked.

A zip states each member's unpacked size in its central directory, so a zip bomb can be seen
without unpacking a byte: too many members, too many unpacked bytes in all, or a member that
unpacks to far more than it packs. The stated sizes can lie, so readers that stream a member
(:func:`read_member`) stop at the limit whatever the directory said.
"""

from __future__ import annotations

import io
import zipfile

from core.limits import (
    MACRO_PARTS,
    ZIP_MAX_MEMBERS,
    ZIP_MAX_RATIO,
    ZIP_MAX_UNPACKED_BYTES,
)


class ArchiveRefused(ValueError):
    """A zip-based file is refused before it is parsed; the message says why in one line."""


def check_zip(data: bytes, *, what: str = "file") -> zipfile.ZipFile:
    """The open archive, once its stated sizes are within :mod:`core.limits`; otherwise
    :class:`ArchiveRefused` naming ``what`` and the limit it passes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise ArchiveRefused(f"{what}: is damaged (its zip structure cannot be read)") from None
    if len(members) > ZIP_MAX_MEMBERS:
        raise ArchiveRefused(
            f"{what}: holds {len(members):,} parts, over the limit of {ZIP_MAX_MEMBERS:,}"
        )
    unpacked = sum(m.file_size for m in members)
    if unpacked > ZIP_MAX_UNPACKED_BYTES:
        raise ArchiveRefused(
            f"{what}: would unpack to {unpacked:,} bytes, over the limit of "
            f"{ZIP_MAX_UNPACKED_BYTES:,} bytes"
        )
    for member in members:
        if member.file_size > 1_000_000 and member.file_size > ZIP_MAX_RATIO * max(
            member.compress_size, 1
        ):
            raise ArchiveRefused(
                f"{what}: part {member.filename[:60]} unpacks to more than {ZIP_MAX_RATIO} times "
                "its packed size (a zip bomb?)"
            )
    for member in members:
        if member.filename.lower().rsplit("/", 1)[-1] in MACRO_PARTS:
            raise ArchiveRefused(
                f"{what}: carries macros ({member.filename[:60]}); save it without macros "
                "(e.g. as .docx or .xlsx) and send that"
            )
    return archive


def read_member(archive: zipfile.ZipFile, name: str, *, what: str = "file") -> bytes:
    """One member's bytes, read in chunks and stopped at the unpacked-size limit even if the
    central directory understated it."""
    out = bytearray()
    try:
        with archive.open(name) as member:
            while chunk := member.read(1 << 20):
                out += chunk
                if len(out) > ZIP_MAX_UNPACKED_BYTES:
                    raise ArchiveRefused(
                        f"{what}: part {name[:60]} unpacks past the limit of "
                        f"{ZIP_MAX_UNPACKED_BYTES:,} bytes"
                    )
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        if isinstance(error, ArchiveRefused):
            raise
        raise ArchiveRefused(f"{what}: part {name[:60]} is damaged") from None
    return bytes(out)
