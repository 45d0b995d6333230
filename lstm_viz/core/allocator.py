"""Keep freed host memory for reuse instead of handing it back to the OS (glibc's malloc; elsewhere a no-op).

glibc serves every block above a threshold (at most 32 MB by default) with a fresh ``mmap`` and unmaps it when it
is freed. The next block of that size then pays a page fault for each 4 KiB page the first time it is written —
about 0.4 ms per MB here. Recording writes its gates and states into fresh memory each call (about 50 MB for a
batch of 32 × 256 steps × 256 units, 130 MB of kernel workspace), so with the default settings those faults cost
more than the LSTM kernel itself; ``nn.LSTM`` forward, whose output stays under the threshold, does not pay them.

``keep_freed_memory()`` raises glibc's mmap and trim thresholds so freed blocks are reused without faults — the
same remedy as running PyTorch on jemalloc or tcmalloc, which Intel's CPU performance guides recommend. It is
process-wide, so ``lstm_viz`` never calls it on import: the app, the command line and the benchmarks opt in at
start-up. The cost is that up to ``threshold`` bytes of freed memory stay mapped to the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["keep_freed_memory"]

_M_TRIM_THRESHOLD = -1  # from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
DEFAULT_THRESHOLD = 256 * 1024 * 1024


@functools.cache
def keep_freed_memory(threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Let glibc keep and reuse freed blocks up to ``threshold`` bytes; True if applied (False off glibc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl without mallopt, Windows)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, threshold))
