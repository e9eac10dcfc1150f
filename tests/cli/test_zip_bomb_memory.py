"""A zip bomb (a few MB packed, 1.2 GB unpacked) given to `reviews documents add` and to the
anonymisation check, in a subprocess whose address space is limited to 500 MB: it is refused
with exit 2 and one line, and never grows the process past the limit."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from core.clock import ManualClock
from models.migrate import upgrade
from tests.anonymisation_corpus import zip_bomb
from tests.conftest import START, make_runtime
from tests.helpers import add_example_referral, load_example_board

LIMIT = 500 * 1024 * 1024
REVIEWS = Path(sys.executable).with_name("reviews")


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "bomb.docx"
    path.write_bytes(zip_bomb(unpacked=1_200_000_000))
    with zipfile.ZipFile(path) as archive:
        assert sum(m.file_size for m in archive.infolist()) > 1_200_000_000
    assert path.stat().st_size < 5_000_000
    return path


def test_documents_add_refuses_a_zip_bomb_within_500_mb(bomb: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reviews.db'}"
    upgrade(url)
    rt = make_runtime(url, ManualClock(START))
    load_example_board(rt)
    reference = add_example_referral(rt)
    env = {
        **os.environ,
        "REVIEWS_DATABASE_URL": url,
        "REVIEWS_DOCUMENTS_DIR": str(tmp_path / "documents"),
    }
    done = subprocess.run(
        [str(REVIEWS), "documents", "add", reference, "--kind", "final_report", str(bomb)],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=_limited,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("file: bomb.docx ") and "over the limit" in line
    assert "MemoryError" not in done.stderr


def test_the_check_reads_a_zip_bomb_within_500_mb(bomb: Path) -> None:
    script = (
        "import sys\n"
        "from models.documents import DOCX, Unreadable, read_document\n"
        "try:\n"
        "    read_document(DOCX, open(sys.argv[1], 'rb').read())\n"
        "except Unreadable as why:\n"
        "    print(why)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(bomb)],
        capture_output=True,
        text=True,
        preexec_fn=_limited,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "over the limit" in done.stdout
