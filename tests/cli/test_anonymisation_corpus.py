"""The generated corpus (tests/anonymisation_corpus.py) through the CLI contract: `documents
add` refuses what cannot be read (exit 2, one line naming the file), and `documents check`
exits 1 naming the place of the one identifier each document hides, 0 for the clean controls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from case_reviews.cli import app
from core.clock import ManualClock
from models.migrate import upgrade
from services.documents import add_review_name
from services.runtime import use_runtime
from tests.anonymisation_corpus import LISTED, SUBJECT, Sample, all_samples
from tests.conftest import START, make_runtime
from tests.helpers import add_example_referral, example_referral, load_example_board
from tests.services.conftest import with_documents_dir

runner = CliRunner()
SAMPLES = all_samples()


@pytest.fixture(scope="module")
def corpus_review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One review (subject Quorra Vantablack, four listed names) for the whole corpus."""
    root = tmp_path_factory.mktemp("corpus")
    url = f"sqlite:///{root / 'reviews.db'}"
    upgrade(url)
    rt = with_documents_dir(make_runtime(url, ManualClock(START)), root / "documents")
    with use_runtime(rt):
        load_example_board(rt)
        subject = {**example_referral()["subject"], **SUBJECT}
        reference = add_example_referral(rt, subject=subject)
        for name, role in LISTED:
            add_review_name(rt, reference, name, role, actor="test")
        yield reference


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.id for s in SAMPLES])
def test_each_sample_is_refused_blocked_or_passed(
    corpus_review: str, sample: Sample, tmp_path: Path
) -> None:
    path = tmp_path / sample.filename
    path.write_bytes(sample.make())
    added = runner.invoke(
        app, ["documents", "add", corpus_review, "--kind", "final_report", str(path)]
    )
    assert added.exit_code == sample.add_code, added.output
    if sample.add_code:
        assert len(added.stderr.strip().splitlines()) == 1 and sample.expect in added.stderr
        assert "Traceback" not in added.output
        return
    version = added.stdout.split(" version ")[1].split()[0]
    checked = runner.invoke(
        app,
        ["documents", "check", corpus_review, "--kind", "final_report", "--version", version],
    )
    assert checked.exit_code == sample.check_code, checked.output
    if sample.check_code:
        assert sample.expect in checked.stdout.splitlines(), checked.stdout
    assert "Quorra" not in checked.output and "Vantablack" not in checked.output
