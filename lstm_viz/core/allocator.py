"""Reusing memory for recordings: a per-module pool of recording buffers, and glibc's process-wide setting.

:class:`BufferPool` is what the library uses. A recording writes its gates and states into a few large buffers;
freshly mapped memory costs a page fault per 4 KiB page the first time it is written — about 0.4 ms per MB here,
more than the LSTM kernel itself at a batch of 32 × 256 steps. The pool hands the same buffer to the next recording
of the same size, but only once nothing outside the pool holds any part of it (the storage's reference count says
so), so a Recording a caller keeps is never overwritten.

``keep_freed_memory()`` is the process-wide alternative, which only programs of our own opt into (the app and
the command line): glibc serves every block above a threshold (at most 32 MB by default) with a fresh ``mmap`` and
unmaps it when it is freed; raising its mmap and trim thresholds keeps freed blocks for reuse — the same remedy as
running PyTorch on jemalloc or tcmalloc, which Intel's CPU performance guides recommend. ``lstm_viz`` never calls it
on import; with the pool (and the kernel's workspace kept small, see ``kernel_gates.record_layer``) recording no
longer needs it. The cost is that up to ``threshold`` bytes of freed memory stay mapped to the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading

import torch
from torch import Tensor

__all__ = ["BufferPool", "keep_freed_memory", "kept_threshold"]

_M_TRIM_THRESHOLD = -1  # from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
DEFAULT_THRESHOLD = 256 * 1024 * 1024


_kept_threshold = 0  # what keep_freed_memory set, in bytes (0: glibc's defaults)


@functools.cache
def keep_freed_memory(threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Let glibc keep and reuse freed blocks up to ``threshold`` bytes; True if applied (False off glibc)."""
    global _kept_threshold
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
    applied = bool(mallopt(_M_MMAP_THRESHOLD, threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, threshold))
    if applied:
        _kept_threshold = threshold
    return applied


def kept_threshold() -> int:
    """Blocks up to this many bytes are reused by malloc without page faults: keep_freed_memory's threshold, or 0."""
    return _kept_threshold


def _use_count(t: Tensor) -> int:
    """How many tensors (and storage handles) share ``t``'s memory right now."""
    return torch._C._storage_Use_Count(t.untyped_storage()._cdata)


_CAN_COUNT = hasattr(torch._C, "_storage_Use_Count")


class BufferPool:
    """Flat CPU buffers that one module's recordings are carved from, handed out again once nothing else holds them.

    ``take`` returns a *view* of a kept buffer, so every tensor carved from it counts as a holder of its storage; the
    buffer is free again when the storage's use count is back to what it was with the pool alone. At most
    ``max_buffers`` are kept (two: ``rec = model.record(x)`` in a loop holds the previous recording while the next
    is made); a buffer of another size that is free is dropped for the new size. Buffers under ``min_bytes`` (which
    malloc reuses without faults anyway), over ``max_bytes``, and off the CPU (the CUDA caching allocator already
    reuses memory) are plain ``torch.empty``. Thread-safe. Holders are tensors (views, ``.numpy()`` and DLPack views
    count too); a bare ``untyped_storage()`` object kept without any tensor is not counted, and its memory may be
    written by the next recording of the same size.
    """

    def __init__(self, max_buffers: int = 2, min_bytes: int = 1 << 20, max_bytes: int = 512 << 20) -> None:
        self.max_buffers = max_buffers
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes
        self._kept: list[tuple[Tensor, int]] = []  # (buffer, its storage's use count when only the pool holds it)
        self._lock = threading.Lock()

    def take(self, numel: int, dtype: torch.dtype, device: torch.device) -> Tensor:
        """A 1-D tensor of ``numel`` elements, uninitialised: a kept buffer nobody holds, or new memory."""
        nbytes = numel * torch.empty((), dtype=dtype).element_size()
        if not _CAN_COUNT or torch.device(device).type != "cpu" or not self.min_bytes <= nbytes <= self.max_bytes:
            return torch.empty(numel, dtype=dtype, device=device)
        # Made and viewed outside inference mode, even from inside it: an inference tensor could not be written into
        # by a later recording outside it ("Inplace update to inference tensor outside InferenceMode").
        with self._lock, torch.inference_mode(False):
            kept = []
            for buf, idle in self._kept:
                free = _use_count(buf) == idle
                if free and buf.numel() == numel and buf.dtype == dtype and buf.device == torch.device(device):
                    return buf.view(-1)  # the view holds the storage: taken until the caller drops every part
                if not free:
                    kept.append((buf, idle))  # in use; a free one of another size is let go
            buf = torch.empty(numel, dtype=dtype, device=device)
            if len(kept) < self.max_buffers:
                kept.append((buf, _use_count(buf)))
            self._kept = kept
            return buf.view(-1)

    @property
    def kept_bytes(self) -> int:
        return sum(buf.numel() * buf.element_size() for buf, _ in self._kept)
