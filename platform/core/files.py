"""Small private files under var/ (secrets, keys), created once by whichever process is first."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_once(path: Path, content: bytes) -> None:
    """Create ``path`` (mode 0600) with ``content`` unless it exists; never overwrite.

    The content is written to a temporary file first and linked into place, which is atomic
    and fails if another process got there first (its file is then the one used), so several
    processes starting together (gunicorn workers) agree and never read a half-written file.
    """
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
