"""The fused cell kernel (``core/fused_cell.py``): replay's elementwise half in one Triton kernel on CUDA.

On a CUDA machine with Triton the kernel runs for real here; on a CPU machine with Triton installed it runs in
Triton's interpreter (a subprocess with TRITON_INTERPRET=1); where Triton is missing those tests skip, and what always
runs is the fallback: without the kernel, or when it cannot be built, record takes replay's PyTorch calls.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from lstm_viz import RecordingLSTM
from lstm_viz.core import fused_cell

ROOT = Path(__file__).resolve().parent.parent
HAS_TRITON = importlib.util.find_spec("triton") is not None

# (input, hidden, layers, bidirectional, proj_size, T, batch, dtype, tolerance against the PyTorch calls)
CASES = [
    (3, 5, 1, False, 0, 6, 2, torch.float32, 1e-5),
    (3, 5, 2, True, 0, 9, 2, torch.float32, 1e-5),
    (3, 6, 2, True, 2, 7, 3, torch.float32, 1e-5),
    (4, 130, 1, True, 0, 3, 1, torch.float32, 1e-5),  # more units than one block of 128
    (4, 8, 2, True, 0, 5, 2, torch.bfloat16, 5e-2),  # rounding to bfloat16 in another order
    (4, 8, 1, False, 0, 5, 2, torch.float16, 4e-3),
]


def fused_against_calls(device: str, interpreter: bool) -> list[str]:
    """Record every case with the fused kernel and with replay's PyTorch calls; the problems found."""
    problems = []
    for I, H, L, bi, P, T, B, dtype, tol in CASES:
        torch.manual_seed(0)
        ref = nn.LSTM(I, H, L, bidirectional=bi, proj_size=P).to(device, dtype)
        model = RecordingLSTM.from_lstm(ref)
        D = 2 if bi else 1
        x = torch.randn(T, B, I, device=device, dtype=dtype)
        hx = (
            torch.randn(L * D, B, P or H, device=device, dtype=dtype),
            torch.randn(L * D, B, H, device=device, dtype=dtype),
        )
        model.REPLAY_FUSED = True if interpreter else None
        fused = model.record(x, hx, strategy="replay")
        model.REPLAY_FUSED = False
        calls = model.record(x, hx, strategy="replay")
        for name in ("f", "i", "g", "o", "c", "m", "h"):
            err = (getattr(fused, name).float() - getattr(calls, name).float()).abs().max().item()
            if not err <= tol:
                problems.append(f"{dtype} L{L} bi={bi} P{P} H{H}: {name} differs by {err:.2e} (tol {tol:.0e})")
        if not torch.equal(fused.output, calls.output):
            problems.append(f"{dtype} L{L} bi={bi}: the output changed")
    return problems


@pytest.mark.skipif(not (torch.cuda.is_available() and HAS_TRITON), reason="needs CUDA and Triton")
def test_fused_kernel_on_cuda_records_what_the_pytorch_calls_record():
    assert fused_cell.available(torch.zeros(1, device="cuda"))
    assert fused_against_calls("cuda", interpreter=False) == []


@pytest.mark.skipif(not HAS_TRITON, reason="Triton is not installed (PyTorch's CUDA builds for Linux bring it)")
def test_fused_kernel_in_tritons_interpreter_records_what_the_pytorch_calls_record():
    # Triton's interpreter reads a loop bound with int() of a 1-element array, which NumPy 2 refuses: the shim
    # reads its one element instead (the interpreter only; the compiled kernel takes T as a plain integer).
    script = textwrap.dedent(
        """
        import numpy as np
        from triton.runtime import interpreter

        original = interpreter._patch_lang_tensor

        def patched(tensor, scope):
            original(tensor, scope)
            scope.set_attr(tensor, "__index__", lambda self: int(np.asarray(self.handle.data).reshape(-1)[0]))

        interpreter._patch_lang_tensor = patched

        from tests.test_fused_cell import fused_against_calls

        problems = fused_against_calls("cpu", interpreter=True)
        print("\\n".join(problems) or "OK")
        """
    )
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "OK", done.stdout


def test_without_the_kernel_replay_takes_its_pytorch_calls(monkeypatch):
    monkeypatch.setattr(fused_cell, "triton", None)
    assert not fused_cell.available(torch.zeros(1))
    assert "not installed" in fused_cell.status()
    gates = torch.randn(1, 1, 3, 2, 8)
    before = gates.clone()
    assert (
        fused_cell.lstm_cell(gates, torch.zeros(1, 1, 2, 2), torch.empty(1, 1, 3, 2, 2), torch.empty(1, 1, 3, 2, 2))
        is False
    )
    assert torch.equal(gates, before)  # nothing touched


def test_a_kernel_that_cannot_be_built_warns_once_and_replay_goes_on(monkeypatch):
    """Triton installed but the kernel does not build (no C compiler, say): one warning, then PyTorch's calls for
    good, with the same recording as replay without the kernel."""

    class Unbuildable:
        def __getitem__(self, grid):
            def launch(*args, **kwargs):
                raise RuntimeError("Failed to find C compiler. Please specify via CC environment variable.")

            return launch

    fake = types.SimpleNamespace(next_power_of_2=lambda n: 1 << (n - 1).bit_length(), cdiv=lambda a, b: -(-a // b))
    monkeypatch.setattr(fused_cell, "triton", fake)
    monkeypatch.setattr(fused_cell, "_BROKEN", None)
    monkeypatch.setattr(fused_cell, "_lstm_cell_kernel", Unbuildable(), raising=False)
    monkeypatch.setattr(fused_cell, "_interpreting", lambda: True)  # lets the CPU stand in for a GPU
    torch.manual_seed(0)
    model = RecordingLSTM(3, 4, 2, bidirectional=True)
    x = torch.randn(6, 2, 3)
    model.REPLAY_FUSED = True
    with pytest.warns(RuntimeWarning, match="fused GPU cell kernel could not run .*C compiler"):
        first = model.record(x, strategy="replay")
    assert "failed to build" in fused_cell.status()
    assert not fused_cell.available(x, interpreter=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        second = model.record(x, strategy="replay")
    model.REPLAY_FUSED = False
    calls = model.record(x, strategy="replay")
    for name in ("f", "i", "g", "o", "c", "m"):
        assert torch.equal(getattr(first, name), getattr(calls, name))
        assert torch.equal(getattr(second, name), getattr(calls, name))
