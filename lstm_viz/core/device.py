"""Which device lstm-viz computes on: CUDA if there is one, then Apple MPS, then the CPU, picked once; and the
process-wide settings PyTorch keeps (threads, TF32, the seeded generator) used safely from the app's threads."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator

import torch

__all__ = [
    "SMALL_MODEL",
    "busy_cpu_threads",
    "describe_device",
    "pick_device",
    "seeded",
    "small_model_threads",
    "torch_threads",
    "without_tf32",
]

SMALL_MODEL = 1_000_000  # parameters; below this, CPU work (training, timing, recording) runs on one thread

# The CPU thread count at start-up: the training engine briefly runs small models on one thread, and the
# sidebar should not report that passing setting.
_CPU_THREADS = torch.get_num_threads()


@functools.cache
def pick_device() -> torch.device:
    """The device every model and recording of this process lives on.

    Order: CUDA, then Apple MPS, then CPU. ``LSTM_VIZ_DEVICE=cpu`` (or ``cuda``, ``mps``) forces a choice,
    e.g. to compare speeds; an unavailable forced device falls back to the CPU.
    """
    forced = os.environ.get("LSTM_VIZ_DEVICE", "").strip().lower()
    if forced == "cpu":
        return torch.device("cpu")
    if forced in ("", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if forced in ("", "mps") and mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: torch.device | None = None) -> str:
    """A short human label, e.g. ``CUDA (NVIDIA A100)``, ``Apple MPS`` or ``CPU (2 threads)``."""
    device = device or pick_device()
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({_CPU_THREADS} thread{'s' if _CPU_THREADS != 1 else ''})"


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run PyTorch ops inside on ``n`` intra-op CPU threads (``None``: leave as is), then restore the setting.

    Small models (the seed posts' are all under a million parameters) train and record many times faster on one
    thread than on several fighting over a busy CPU. The setting is process-wide, so keep these blocks short.
    """
    before = torch.get_num_threads()
    if n is None or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


_SEED_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded(seed: int | None, *, restore: bool = False) -> Iterator[None]:
    """torch's global generator seeded with ``seed`` for the block, which builds and initialises a model from it
    (``None``: the generator as it is, unseeded, and no turn taken).

    PyTorch's modules initialise their weights from that one process-wide generator, and the app's sessions run in
    threads: two visitors pressing Start together drew from each other's seeded stream, so a seed no longer decided
    the weights. Seeded blocks take turns (the lock is re-entrant). The generator is left where the block left it,
    as a plain ``torch.manual_seed`` would; ``restore=True`` puts the CPU generator back as it was before."""
    if seed is None:
        yield
        return
    with _SEED_LOCK, (torch.random.fork_rng(devices=[]) if restore else contextlib.nullcontext()):
        torch.manual_seed(seed)
        yield


_TF32_LOCK = threading.Lock()
_tf32_off = {"blocks": 0, "before": True}  # how many without_tf32 blocks are open, and the flag before the first


@contextlib.contextmanager
def without_tf32() -> Iterator[None]:
    """cuDNN computes float32 in float32 inside the block. By default PyTorch lets it round float32 products to TF32
    on NVIDIA GPUs since Ampere (~1e-3 relative; the recording's replay follows it), while the step-by-step runs
    (interventions, ablations, per-step loops) multiply in plain float32: comparisons between the two need it off.

    The flag is process-wide, and the app's sessions run in threads: the first block to open turns it off and the
    last to close puts it back, so overlapping blocks cannot restore it out of order. Nothing changes on the CPU."""
    cudnn = torch.backends.cudnn
    with _TF32_LOCK:
        if _tf32_off["blocks"] == 0:
            _tf32_off["before"] = cudnn.allow_tf32
            cudnn.allow_tf32 = False
        _tf32_off["blocks"] += 1
    try:
        yield
    finally:
        with _TF32_LOCK:
            _tf32_off["blocks"] -= 1
            if _tf32_off["blocks"] == 0:
                cudnn.allow_tf32 = _tf32_off["before"]


def small_model_threads(*modules: torch.nn.Module) -> int | None:
    """1 when every module has under ``SMALL_MODEL`` parameters (the seed posts' models all do), else None: the
    thread count for :func:`torch_threads`. On a busy CPU extra threads only wait for each other on small ops."""
    small = all(sum(p.numel() for p in m.parameters()) < SMALL_MODEL for m in modules)
    return 1 if small else None


def busy_cpu_threads() -> int | None:
    """1 when other work keeps the CPU busy (the 1-minute load average is at least the CPU count minus one half),
    else None (PyTorch's own thread count): the thread count for :func:`torch_threads` around sequential work such as
    recording one long text. Measured on a 2-core machine shared with other work (load 3.5–4): recording 2,000
    characters with a 2×384 LSTM took 230–310 ms on one thread and 700–1,250 ms on two; on the idle machine two
    threads took 100 ms and one 170 ms."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):  # not every platform has a load average
        return None
    cpus = os.cpu_count() or 1
    return 1 if cpus > 1 and load >= cpus - 0.5 else None
