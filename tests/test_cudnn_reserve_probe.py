"""benchmarks/cudnn_reserve_probe.py, the search that found cuDNN's reserve layout: its search on planted layouts, and
its CPU behaviour (it needs CUDA for the real thing)."""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "cudnn_reserve_probe.py"


def probe_module():
    spec = importlib.util.spec_from_file_location("cudnn_reserve_probe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("base, st, sb, sj", [(100, 96, 32, 1), (7, 1, 5 * 8, 5), (0, 24, 8, 1)])
def test_the_search_recovers_a_planted_affine_layout(base, st, sb, sj):
    probe = probe_module()
    ref = torch.randn(5, 3, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    flat = torch.randn(2000, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 10
    for t, b, j in itertools.product(range(5), range(3), range(8)):
        flat[base + t * st + b * sb + j * sj] = ref[t, b, j]
    assert probe.find_affine(flat, ref, 1e-9) == {"base": base, "st": st, "sb": sb, "sj": sj, "frac": 1.0}


def test_values_that_are_not_there_are_not_found():
    probe = probe_module()
    zeros, ones = torch.zeros(100, dtype=torch.float64), torch.ones(2, 2, 2, dtype=torch.float64)
    assert probe.find_affine(zeros, ones, 1e-6) is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="the no-CUDA answer is for machines without a GPU")
def test_without_cuda_it_says_so_and_exits_0():
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and "no CUDA device here" in done.stdout and "Traceback" not in done.stderr


def test_a_json_file_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    for bad, said in ((tmp_path / "missing" / "p.json", "does not exist"), (tmp_path / "p.txt", "ending in .json")):
        done = subprocess.run([sys.executable, str(SCRIPT), "--json", str(bad)], capture_output=True, text=True,
                              cwd=ROOT, timeout=120)  # fmt: skip
        assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr
