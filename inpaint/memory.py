"""Handing freed heap memory back to the operating system after large, varied allocations.

glibc's allocator keeps the memory of freed blocks for reuse instead of
returning it.  A fill on windows (:mod:`inpaint.windows`) allocates tensors of
many shapes, one set per window size, so without help the resident set grows
with the number of distinct window shapes, not with the largest batch.  glibc's
``malloc_trim(0)`` returns the free memory at the top of each heap and of its
free lists to the system; it is a GNU extension, reached here through ctypes,
and this module's one function is a no-op where it does not exist (macOS,
Windows, musl).  Measured on 4096x4096 with 5 % scattered holes: 981 MiB of
working memory without it, 475 MiB with it
(``experiments/results/restore_benchmark.md``).  One call costs a few
milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["release_freed_memory"]


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none."""
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim", None)
    except (OSError, TypeError):
        return None


def release_freed_memory() -> None:
    """Give freed heap memory back to the system (glibc's ``malloc_trim``; a no-op elsewhere)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
