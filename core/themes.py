"""The board's learning themes: an editable list (YAML) the committee tags reviews with."""

from __future__ import annotations

from pathlib import Path

import yaml

DEFAULT_THEMES = Path(__file__).with_name("learning_themes.yaml")


class ThemeListError(ValueError):
    """The board's theme file cannot be used; the message names the file and the problem."""


def load_themes(path: Path | None = None) -> list[str]:
    """The themes in ``path`` (the board's file) or the default list: a YAML list of names,
    each kept as written, with blanks and repeats (case-blind) refused."""
    source = path or DEFAULT_THEMES
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThemeListError(f"themes_file {source}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ThemeListError(f"themes_file {source}: is not valid YAML: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise ThemeListError(f"themes_file {source}: expected a YAML list of theme names")
    themes: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        name = " ".join(str(item).split()) if item is not None else ""
        if not name:
            raise ThemeListError(f"themes_file {source}: item {index + 1} is blank")
        if name.casefold() in seen:
            raise ThemeListError(f"themes_file {source}: {name!r} appears twice")
        seen.add(name.casefold())
        themes.append(name)
    return themes
