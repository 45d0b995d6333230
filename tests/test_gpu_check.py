"""benchmarks/gpu_check.py, the one prepared GPU check: it must run wherever it is carried, so its CPU paths are tested
here — it says "no CUDA" and exits 0 without a GPU, and its whole run on the CPU (``--device cpu``) passes."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is here: the script runs its checks instead")
def test_without_cuda_it_says_so_and_exits_0():
    done = _run()
    assert done.returncode == 0, done.stderr
    assert "no CUDA" in done.stdout.splitlines()[-1]


def test_the_whole_check_passes_on_the_cpu():
    done = _run("--device", "cpu", "--quick", "--epochs", "1")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.splitlines()[-1]
    assert last.startswith("gpu_check: PASS on CPU") and "parity" in last and "test exact match 100.0%" in last
    assert "FAIL" not in done.stdout


def test_the_suite_leaves_out_files_it_cannot_collect():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    pages = {path.name for path in gpu_check._files_importing(["streamlit"])}
    assert {"test_explorer_page.py", "test_training_pages.py", "test_text_page.py"} <= pages
    assert "test_recording.py" not in pages and "test_corpus.py" not in pages  # imports streamlit inside one test
    assert gpu_check._files_importing([]) == []


def test_a_package_that_is_installed_but_does_not_import_is_named_with_why(tmp_path, monkeypatch):
    """streamlit carried to the GPU image without starlette failed its first import and then raised
    "DeltaGeneratorSingleton instance already exists!" in 60 tests: the suite now names the package and why, and
    leaves its files out as for a missing one."""
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    (tmp_path / "half_installed_pkg").mkdir()
    (tmp_path / "half_installed_pkg" / "__init__.py").write_text("import starlette_that_is_not_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = gpu_check._broken(["json", "half_installed_pkg", "not_installed_at_all"])
    assert list(broken) == ["half_installed_pkg"]
    assert broken["half_installed_pkg"] == "ModuleNotFoundError: No module named 'starlette_that_is_not_here'"
