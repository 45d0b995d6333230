"""The live pages in a real browser: epochs per second on the page vs the headless engine, interleaved.

``bench_live_training.py`` measures what the page's script does per tick, in one process. This one runs the
whole thing: ``streamlit run app.py`` in its own process, a headless Chromium showing the page (on the same
machine, so it competes for the same cores, as on a laptop), Start, then rounds of

    Resume → N seconds of live training, read off the page's epoch counter as it changes → Pause
    N seconds of the same recipe headless in this process, while the paused app and the browser sit idle

so drifting machine load hits both alike. Ratio = live epochs/s ÷ headless epochs/s (goal ≥ 0.9).

By default the browser gets its own core (Linux CPU affinity): the server and the headless phases share core 0,
Chromium the others — the usual case of a browser on the user's own machine. ``--same-cores`` lets them all
share every core, as a browser on a small server or a 2-core laptop does; the page then trains slower because
the browser's chart rendering takes CPU time from training, not because of the page's own work.

    python benchmarks/bench_live_browser.py [--seconds 15] [--rounds 3] [--page subtraction|toy|both] [--same-cores]

Needs Chromium (``apt-get install -y chromium``) and Playwright for Python; .ci/run installs both.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cli_args import number, whole

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.helpers import PROGRESS, epoch_shown, open_page, press, set_number, wait_idle  # noqa: E402

# lstm_viz (PyTorch) and pytest (the e2e fixtures' module) are imported once the arguments are read.
# Each round is a live and a headless phase of --seconds, per page: beyond these the run would take hours or days.
MAX_SECONDS, MAX_ROUNDS = 3600, 100


def pages() -> dict[str, tuple[str, dict, int]]:
    """page name: (page path, headless recipe as the page builds it with its defaults, epochs to set)."""
    from lstm_viz.tasks import subtraction
    from lstm_viz.training.live import MAX_EPOCHS

    return {
        "subtraction": ("train_subtraction", dict(task="subtraction", preset="seed", lr=0.01, seed=subtraction.SEED),
                        MAX_EPOCHS),
        "toy": ("train_toy", dict(task="toy-statquest", preset="seed", lr=0.001, seed=0), MAX_EPOCHS),
    }  # fmt: skip


def pin_browser_apart() -> bool:
    """This process (and the app and browser it starts) on core 0; then Chromium's threads on the other cores."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) < 2:
        return False
    os.sched_setaffinity(0, {cores[0]})
    return True


def move_chromium(cores: set[int]) -> int:
    """Set the affinity of every thread of every Chromium process; returns how many threads moved."""
    moved = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if "chrom" not in (proc / "comm").read_text():
                continue
            for task in (proc / "task").iterdir():
                os.sched_setaffinity(int(task.name), cores)
                moved += 1
        except (OSError, ValueError):
            continue
    return moved


def next_epoch_shown(page, timeout_s: float = 10) -> tuple[int, float]:
    """(epoch, time) at the moment the page's counter next changes: no staleness from the redraw period."""
    before = page.locator(PROGRESS).first.inner_text()
    deadline = time.perf_counter() + timeout_s
    while (text := page.locator(PROGRESS).first.inner_text()) == before:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the epoch counter did not move in {timeout_s:.0f} s: {text!r}")
        time.sleep(0.01)
    return epoch_shown(page), time.perf_counter()


def wait_paused(page, timeout_s: float = 30) -> None:
    deadline = time.time() + timeout_s
    while "paused" not in page.locator(PROGRESS).first.inner_text():
        if time.time() > deadline:
            shot = "/tmp/bench_live_browser_pause.png"
            page.screenshot(path=shot, full_page=True)
            text = page.locator(PROGRESS).first.inner_text()
            raise RuntimeError(f"the page did not show 'paused' after Pause: {text!r} (screenshot {shot})")
        time.sleep(0.05)
    wait_idle(page)


def headless_rate(trainer, seconds: float) -> float:
    """Epochs per second of ``trainer`` (built from the page's recipe) over about ``seconds``."""
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        trainer.train_epochs(1)
        done += 1
    return done / (time.perf_counter() - start)


def measure(browser, url: str, name: str, seconds: float, rounds: int) -> dict:
    from lstm_viz.training.engine import make_trainer

    path, recipe, epochs = pages()[name]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    open_page(page, url, path)
    fastest = page.get_by_role("radio", name="as fast as possible")  # the toy page paces its recipe by default
    if fastest.count():
        fastest.click()
        wait_idle(page)
    set_number(page, "Epochs", epochs)
    options = dict(recipe)
    task = options.pop("task")
    trainer = make_trainer(task, **options)
    trainer.train_epochs(2)  # first kernels, allocations
    press(page, "Start")
    time.sleep(min(5.0, seconds))  # the run builds its model and draws its first charts
    press(page, "Pause")
    wait_paused(page)
    live, headless = [], []
    for _ in range(rounds):
        press(page, "Resume")
        time.sleep(1.0)  # the click's own rerun is not training speed
        e0, t0 = next_epoch_shown(page)
        time.sleep(seconds)
        e1, t1 = next_epoch_shown(page)
        press(page, "Pause")
        wait_paused(page)
        live.append((e1 - e0) / (t1 - t0))
        headless.append(headless_rate(trainer, seconds))
    press(page, "Stop")
    page.close()
    ratios = [lv / h for lv, h in zip(live, headless, strict=True)]
    return {"live": live, "headless": headless, "ratios": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds",
        type=number(0, MAX_SECONDS, what=f"a number of seconds above 0 and at most {MAX_SECONDS:,} (an hour)"),
        default=15.0,
        help="length of each live and headless phase",
    )
    parser.add_argument("--rounds", type=whole(1, MAX_ROUNDS, above="more would run for hours"), default=3)
    parser.add_argument("--page", choices=["subtraction", "toy", "both"], default="both")
    parser.add_argument("--same-cores", action="store_true", help="let the browser share the training core")
    args = parser.parse_args()  # before PyTorch's import (lstm_viz's): a bad value is refused at once

    from tests.e2e.conftest import CHROMIUM_FLAGS, running_app

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("Playwright for Python is not installed: pip install -r requirements-dev.txt")
    if chromium is None:
        sys.exit("Chromium is not installed: apt-get install -y chromium")
    names = ["subtraction", "toy"] if args.page == "both" else [args.page]
    all_cores = set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else set()
    apart = not args.same_cores and pin_browser_apart()
    results = {}
    with tempfile.TemporaryDirectory() as logs, running_app(Path(logs)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        if apart:
            moved = move_chromium(all_cores - os.sched_getaffinity(0))
            print(f"server and headless runs on core {sorted(os.sched_getaffinity(0))}, Chromium ({moved} threads) "
                  f"on {sorted(all_cores - os.sched_getaffinity(0))}")  # fmt: skip
        else:
            print("server, headless runs and Chromium share all cores")
        for name in names:
            results[name] = measure(browser, url, name, args.seconds, args.rounds)
        browser.close()
    print(f"{'page':<12} {'live ep/s':>22} {'headless ep/s':>24} {'ratio per round':>22}  median")
    for name, r in results.items():
        fmt = lambda xs: " ".join(f"{x:7.1f}" for x in xs)  # noqa: E731
        ratios = " ".join(f"{x:5.2f}" for x in r["ratios"])
        median = statistics.median(r["ratios"])
        print(f"{name:<12} {fmt(r['live']):>22} {fmt(r['headless']):>24} {ratios:>22}  {median:.2f}")
    print(json.dumps({name: round(statistics.median(r["ratios"]), 3) for name, r in results.items()}))


if __name__ == "__main__":
    main()
