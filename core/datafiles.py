"""Reading the YAML and JSON files people write (referrals, boards): one-line errors.

YAML turns an unquoted ``2026-02-30`` into a date while parsing and fails with a bare
"day is out of range for month" naming neither the field nor the file. Here dates stay text,
so the form that reads the file (pydantic) refuses a bad one naming its field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class DataFileError(ValueError):
    """The file cannot be read as data; the message names the file and what is wrong."""


class _DatesAsText(yaml.SafeLoader):
    """A safe loader that leaves timestamps as strings (the forms parse them)."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_data_file(path: Path) -> Any:
    """Parse a YAML or JSON file (UTF-8); raise :class:`DataFileError` in one line if not."""
    kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(
            f"{path}: is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    try:
        if kind == "JSON":
            return json.loads(text)
        return yaml.load(text, Loader=_DatesAsText)  # safe: a SafeLoader subclass
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())
        raise DataFileError(f"{path}: is not valid {kind}: {reason}") from None
