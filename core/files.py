"""Files only the service's own user can read: the case store (it holds identities), the
documents folder and ``var/`` are created owner-only (0700 folders, 0600 files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["PRIVATE_DIR", "PRIVATE_FILE", "private_dir", "private_file", "tighten"]

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` and each missing parent owner-only (0700); a folder that exists already
    is left as it is (it may be the operator's own, e.g. the working directory)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and owner-only (0600) if it does not exist; its folder too."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return path
    os.close(fd)
    os.chmod(path, PRIVATE_FILE)
    return path


def tighten(path: Path) -> bool:
    """Make an existing file owner-only (0600), or an existing folder 0700; returns whether
    its mode changed."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    wanted = PRIVATE_DIR if path.is_dir() else PRIVATE_FILE
    if mode == wanted:
        return False
    os.chmod(path, wanted)
    return True
