"""Gate Explorer speed and size, measured in one run (not a timed test).

1. Input → figures ready on the server (text parsed, model recorded, every figure built and serialised to the
   JSON Streamlit sends) for T = 64, H = 128 on the CPU. Goal: < 300 ms for what the page shows on load
   (answer, heatmaps, unit traces); the other tabs are timed too, each is built only when its tab is opened.
2. The JSON size of every figure for T = 2,000, H = 512 (and a 2-layer bidirectional stack). Goal: < 5 MB for
   all figures together.

Run: ``python benchmarks/bench_explorer.py`` (add ``--quick`` for fewer repeats).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import plotly.io as pio
import torch

from lstm_viz.app.inputs import typed_input
from lstm_viz.app.sources import RandomSpec, random_model
from lstm_viz.viz.answer import answer_figure, model_answer
from lstm_viz.viz.belt import conveyor_belt
from lstm_viz.viz.divergence import difference_heatmaps
from lstm_viz.viz.gates import gate_heatmaps, most_active_units, panels_of
from lstm_viz.viz.saturation import saturation_batch, saturation_figure, saturation_table
from lstm_viz.viz.traces import unit_traces

GOAL_MS = 300.0
GOAL_BYTES = 5_000_000


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up (imports, allocator, oneDNN kernels)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def sent(fig) -> int:
    """Bytes Streamlit sends for a figure: plotly.io.to_json(fig, validate=False), as st.plotly_chart does."""
    return len(pio.to_json(fig, validate=False)) if fig is not None else 0


def vectors_text(steps: int, width: int, seed: int = 0) -> str:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(steps, width, generator=gen)
    return "\n".join(", ".join(f"{v:.4f}" for v in row) for row in x.tolist())


def timings(repeats: int) -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    loaded = random_model(RandomSpec(input_size=8, hidden_size=128, seed=0))
    model, config = loaded.model, loaded.config
    text = vectors_text(64, 8)
    text_b = vectors_text(64, 8, seed=1)
    state = {}

    def on_load():
        inp = typed_input(text, config)
        rec = model.record(inp.x)
        answer = model_answer(model, inp)
        figs = [
            answer_figure(answer),
            gate_heatmaps(rec, feature_names=inp.feature_names),
            unit_traces(rec, most_active_units(rec, k=3), feature_names=inp.feature_names),
        ]
        state.update(rec=rec, inp=inp)
        return sum(sent(f) for f in figs)

    def parse_record():
        model.record(typed_input(text, config).x)

    load_ms = median_ms(on_load, repeats)
    record_ms = median_ms(parse_record, repeats)
    rec = state["rec"]
    rec_b = model.record(typed_input(text_b, config).x)
    tabs = {
        "conveyor belt": lambda: sent(conveyor_belt(rec, most_active_units(rec, k=1)[0])),
        "compare two inputs": lambda: sent(difference_heatmaps(rec, rec_b)),
        "gate saturation (256 samples)": lambda: sent(
            saturation_figure(saturation_table(model.record(saturation_batch(model, n=256))))
        ),
        "all six heatmaps only": lambda: sent(gate_heatmaps(rec)),
    }
    print("== input → figures ready on the server, T = 64, H = 128, input 8, CPU ==")
    print(f"device threads: {torch.get_num_threads()}")
    print(f"  parse + record                          {record_ms:8.1f} ms")
    print(f"  page load (parse, record, answer, heatmaps, traces, JSON)  {load_ms:8.1f} ms   "
          f"goal < {GOAL_MS:.0f} ms → ratio {load_ms / GOAL_MS:.2f} of the budget "
          f"({'OK' if load_ms < GOAL_MS else 'OVER'})")
    for name, fn in tabs.items():
        print(f"  tab: {name:<36} {median_ms(fn, repeats):8.1f} ms (built when its tab opens)")


def sizes() -> None:
    cases = {
        "T=2000, H=512, 1 layer": RandomSpec(input_size=8, hidden_size=512, seed=0),
        "T=2000, H=512, 2 layers bidirectional (all panels)": RandomSpec(
            input_size=8, hidden_size=512, num_layers=2, bidirectional=True, seed=0
        ),
    }
    for title, spec in cases.items():
        loaded = random_model(spec)
        model = loaded.model
        x = torch.randn(1, 2000, 8, generator=torch.Generator().manual_seed(0))
        start = time.perf_counter()
        rec = model.record(x)
        rec_b = model.record(x + 0.1)
        record_ms = (time.perf_counter() - start) * 1000 / 2
        units = most_active_units(rec, k=3)
        figs = {
            "gate heatmaps": gate_heatmaps(rec, panels_of(rec)),
            "unit traces (3 units)": unit_traces(rec, units),
            "conveyor belt": conveyor_belt(rec, units[0]),
            "compare two inputs": difference_heatmaps(rec, rec_b),
            "gate saturation": saturation_figure(saturation_table(rec)),
        }
        print(f"== figure sizes, {title} (record: {record_ms:.0f} ms) ==")
        total = 0
        for name, fig in figs.items():
            size = sent(fig)
            total += size
            print(f"  {name:<24} {size / 1e6:6.2f} MB")
        print(f"  {'all figures together':<24} {total / 1e6:6.2f} MB   goal < {GOAL_BYTES / 1e6:.0f} MB → ratio "
              f"{total / GOAL_BYTES:.2f} ({'OK' if total < GOAL_BYTES else 'OVER'})")
        note = figs["gate heatmaps"].layout.title.subtitle.text.replace("<br>", " / ")  # one line a note in the chart
        print(f"  note on the heatmaps: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 9")
    args = parser.parse_args()
    timings(repeats=3 if args.quick else 9)
    sizes()


if __name__ == "__main__":
    main()
