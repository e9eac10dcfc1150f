"""Review methodologies as data: each names the events (steps) a review walks after the
timelines, e.g. SILP's learning event and recall session.

The built-in methods are ``core/deadlines/packs/methods/*.yaml``; a board adds or replaces one by
putting a file in the ``methods/`` folder of its rule-pack directory (``REVIEWS_RULES_DIR``),
without code. A file names the method (``method``), the title the chair chooses it by, its
source, and its steps in order, each with a ``name`` (the gate the business manager answers,
lowercase words joined by ``_``), a ``title`` and a ``purpose`` (the invitation's text).

The only I/O is reading the YAML files in :func:`load_methods`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.deadlines import RulePackError

_BUILTIN = Path(__file__).with_name("deadlines") / "packs" / "methods"
METHODS_DIR = "methods"
"""The folder of a board's rule-pack directory that holds its own methods."""


class MethodStep(BaseModel):
    """One event of a method: arranged by the business manager, then held and recorded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$", max_length=40)
    title: str = Field(min_length=1, max_length=80)
    purpose: str = Field(min_length=1)


class Method(BaseModel):
    """A methodology and the steps it walks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=60)
    source: str = Field(min_length=1)
    steps: tuple[MethodStep, ...] = Field(min_length=1)


def _read(file: Path) -> Method:
    try:
        raw: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
        method = Method.model_validate(raw)
    except yaml.YAMLError as exc:
        raise RulePackError(f"{file}: malformed YAML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(file)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise RulePackError(f"{file}: {problems}") from exc
    names = [step.name for step in method.steps]
    if len(set(names)) != len(names):
        raise RulePackError(f"{file}: steps: a step name is used twice")
    return method


@cache
def load_methods(rules_dir: Path | None = None) -> dict[str, Method]:
    """The built-in methods, then the board's (``rules_dir/methods/*.yaml``) over them by id,
    keyed by id. Raises :class:`~core.deadlines.RulePackError` naming the file and field."""
    folders = [_BUILTIN]
    if rules_dir is not None and (rules_dir / METHODS_DIR).is_dir():
        folders.append(rules_dir / METHODS_DIR)
    methods: dict[str, Method] = {}
    for folder in folders:
        for file in sorted(folder.glob("*.yaml")):
            method = _read(file)
            methods[method.method] = method
    titles = [m.title for m in methods.values()]
    if len(set(titles)) != len(titles):
        raise RulePackError(f"{folders[-1]}: two methods have the same title")
    return methods


def find_method(methods: dict[str, Method], chosen: str) -> Method:
    """The method chosen by its title (as the forms offer it) or its id; LookupError naming
    the known titles if none."""
    for method in methods.values():
        if chosen in (method.title, method.method):
            return method
    known = ", ".join(m.title for m in methods.values())
    raise LookupError(f"unknown methodology {chosen!r}; known: {known}")


PROFESSIONAL_FORUM = MethodStep(
    name="professional_forum",
    title="Multi-agency professional forum",
    purpose="Practitioners and managers discuss the case with a facilitator, so that they can "
    "safely and openly consider, challenge and change multi-agency practice; its outcome and "
    "learning go to the performance committee.",
)
"""The forum a "professional forum" decision holds (Wirral LSCB framework s.6; Welsh
Government handout 2017), arranged and recorded like a method's event."""
