"""Writing a file atomically: a reader, or a crash, sees the old file or the new one, never half of one.

The one writer of every output the toolkit keeps (checkpoints, images and masks, sweep parts): the bytes go to
a hidden temporary file in the target's folder, are flushed to disk, and the temporary file is renamed over the
target (a rename within one folder is atomic on POSIX and Windows).  On any failure the temporary file is
removed and the error raised again, so no partial or stray file is left.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(file)`` on a temporary file beside ``path`` (its folders created), then rename it over
    ``path``; whatever ``write`` raises leaves ``path`` as it was and no temporary file behind.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_atomic(folder / "a.txt", lambda f: f.write(b"hello"))
    >>> (folder / "a.txt").read_bytes(), sorted(p.name for p in folder.iterdir())
    (b'hello', ['a.txt'])
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
