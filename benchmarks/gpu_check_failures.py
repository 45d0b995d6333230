"""A pytest plugin for ``gpu_check.py --suite``: each failure's last lines, printed the moment it is reported.

pytest (and xdist) print tracebacks only at the end of the run; the GPU machine's time is short, so a run cut off at
its limit must still say *why* each test failed. Loaded with ``-p gpu_check_failures`` (benchmarks/ on PYTHONPATH)."""

from __future__ import annotations

PREFIX = "GPU_CHECK_FAILURE"


def pytest_runtest_logreport(report) -> None:
    if report.failed:
        lines = [line.strip() for line in report.longreprtext.strip().splitlines() if line.strip()]
        print(f"\n{PREFIX} {report.nodeid} ({report.when}): {' | '.join(lines[-8:])[:900]}", flush=True)
