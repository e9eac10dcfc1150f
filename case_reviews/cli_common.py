"""What every ``reviews`` command module shares: failing with one line and an exit code, the
ready runtime, reading input files, and printing JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from core import datafiles
from models import store
from models.orm import Review
from services.runtime import Runtime, SchemaNotReady, runtime

INPUT_ERROR = 2

Model = TypeVar("Model", bound=BaseModel)
Result = TypeVar("Result")


def fail(message: str, code: int = INPUT_ERROR) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return str(value)


def json_text(value: Any) -> str:
    """``value`` as indented JSON: pydantic models as their JSON dump, anything else unknown to
    JSON as its ``str``."""
    return json.dumps(value, indent=2, default=_jsonable)


def ready() -> Runtime:
    """The runtime, once the case store's schema is current (exit 1 otherwise)."""
    rt = runtime()
    try:
        rt.check_schema()
    except SchemaNotReady as exc:
        fail(str(exc), code=1)
    return rt


def validation_lines(exc: ValidationError) -> list[str]:
    """One line per field: ``referrer.email: 'x' is not an email address``."""
    lines = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "(file)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required"
        elif error["type"] == "extra_forbidden":
            message = "is not a field of this form"
        elif error["type"] == "string_pattern_mismatch":
            message = "is blank: write it out"
        # Model-level checks already name their field ("notified_on: …").
        lines.append(message if not error["loc"] and ": " in message else f"{field}: {message}")
    return lines


def validate(model: type[Model], data: Any) -> Model:
    """``data`` as ``model``; fail with one line per field if it is not."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fail("\n".join(validation_lines(exc)))


def read_data_file(path: Path) -> Any:
    """Parse a YAML or JSON file, failing with one line that names the file."""
    try:
        return datafiles.read_data_file(path)
    except datafiles.DataFileError as exc:
        fail(str(exc))


def read_model(model: type[Model], file: Path) -> Model:
    """Validate a YAML or JSON file as ``model``; fail with one line per field if it is not."""
    return validate(model, read_data_file(file))


def read_bytes(file: Path) -> bytes:
    """The file's bytes, failing with one line that names it."""
    try:
        return file.read_bytes()
    except OSError as exc:
        fail(f"{file}: cannot be read ({exc.strerror})")


def get_review(session: Session, reference: str) -> Review:
    """The review, failing with the store's words when there is none."""
    try:
        return store.get_review(session, reference)
    except store.NotFound as exc:
        fail(str(exc))


def attempt(call: Callable[[], Result], *refusals: type[Exception]) -> Result:
    """``call()``; fail with the words of any of ``refusals`` it raises."""
    try:
        return call()
    except refusals as exc:
        fail(str(exc))


def change_as_operator(reference: str, change: Callable[..., Result], **fields: Any) -> Result:
    """``change(session, review=…, **fields, actor=…, now=…)`` on the review in one
    transaction, recorded as the configured operator; fail with the store's refusal."""
    rt = ready()
    by = {"actor": rt.settings.operator, "now": rt.now()}
    return change_review(rt, reference, lambda s, review: change(s, review=review, **fields, **by))


def change_review(
    rt: Runtime, reference: str, change: Callable[[Session, Review], Result]
) -> Result:
    """Apply ``change`` to the review in one transaction; fail with the store's refusal."""
    try:
        with rt.sessions.begin() as session:
            return change(session, store.get_review(session, reference))
    except (store.InputRejected, store.NotFound) as exc:
        fail(str(exc))
