"""Where cuDNN keeps an LSTM's (and a GRU's) gates in its training-mode reserve space, found by search.

    python benchmarks/cudnn_reserve_probe.py            # on a CUDA machine (without one: says so, exits 0)
    python benchmarks/cudnn_reserve_probe.py --json probe.json

``lstm_viz/core/cudnn_gates.py`` reads every step's gates and c of an LSTM from the reserve space that
``torch._cudnn_rnn`` returns in training mode. cuDNN does not document that memory's layout; this script is how it was
found (docs/measurements/cudnn_reserve_h200.txt), and how to check it again on another cuDNN, or to map a GRU's:
for small models it runs one layer through cuDNN in training mode, records the same layer with RecordingLSTM /
RecordingGRU (``strategy="replay"``, TF32 off), looks each recorded tensor's values up in the reserve viewed as the
dtype, and fits an affine layout ``base + t·st + b·sb + j·sj`` (t step, b sequence, j unit) to the matches. It prints
each tensor's fit and the share of sampled elements it explains (1.00: found), then cuDNN's training mode against its
inference mode in time.

Reading a search result: for a float32 LSTM the library expects c at base 0 with strides (B·H, H, 1), then i, f, g, o
at bases n_c, n_c + H, n_c + 2H, n_c + 3H with strides (B·4H, 4H, 1), n_c = D·T·B·H (or n_c rounded up to an
alignment). In half precision many values lie within the tolerance of each other and the search can fail to fit where
the layout is the same: the library's own check (``cudnn_gates.consistent``) is the judge there.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from lstm_viz.core.cudnn_layer import cudnn_rnn  # noqa: E402

LSTM_SHAPES = [(5, 3, 4, 8, False), (7, 6, 5, 32, False), (6, 4, 3, 16, True), (9, 33, 17, 96, False)]  # T, B, I, H
GRU_SHAPES = [(5, 3, 4, 8, False), (7, 6, 5, 32, False), (6, 4, 3, 16, True)]
TIMING_SHAPES = [(32, 256, 64, 256, False), (1, 1000, 32, 512, False), (256, 512, 128, 1024, False),
                 (16, 200, 32, 128, True)]  # (B, T, I, H, bidirectional), as gpu_check times record  # fmt: skip


def find_affine(flat: torch.Tensor, ref: torch.Tensor, tol: float, sample: int = 400) -> dict | None:
    """Where the values of ``ref`` (T, B, H) lie in ``flat`` (1-D), as the affine layout that explains most of a
    sample of them: ``{"base", "st", "sb", "sj", "frac"}``, or None when some corner value is nowhere in ``flat``.
    Both float64 on the CPU; ``tol`` is relative to max(1, |value|)."""
    order = torch.argsort(flat)
    ordered = flat[order]
    T, B, H = ref.shape

    def near(value: float, most: int = 6) -> list[int]:
        lo = int(torch.searchsorted(ordered, torch.tensor([value - tol], dtype=flat.dtype)))
        hi = int(torch.searchsorted(ordered, torch.tensor([value + tol], dtype=flat.dtype)))
        return order[lo:hi][:most].tolist()

    corners = [(0, 0, 0), (0, 0, min(1, H - 1)), (0, min(1, B - 1), 0), (min(1, T - 1), 0, 0)]
    candidates = [near(float(ref[c])) for c in corners]
    if any(not c for c in candidates):
        return None
    picked = torch.randint(0, ref.numel(), (min(ref.numel(), sample),), generator=torch.Generator().manual_seed(0))
    tt, bb, jj = picked // (B * H), (picked // H) % B, picked % H
    want = ref[tt, bb, jj]
    best = None
    for base, at_j, at_b, at_t in itertools.product(*candidates):
        sj, sb, st = (at_j - base) * (H > 1), (at_b - base) * (B > 1), (at_t - base) * (T > 1)
        idx = base + tt * st + bb * sb + jj * sj
        inside = (idx >= 0) & (idx < flat.numel())
        hit = torch.zeros_like(inside)
        hit[inside] = (flat[idx[inside]] - want[inside]).abs() <= tol * want[inside].abs().clamp(min=1)
        frac = hit.double().mean().item()
        if best is None or frac > best["frac"]:
            best = {"base": base, "st": st, "sb": sb, "sj": sj, "frac": frac}
    return best


def layout(cell: str, dtype: torch.dtype, T: int, B: int, I: int, H: int, bidirectional: bool) -> dict:
    """One layer of ``cell`` through cuDNN in training mode; each recorded tensor looked up in its reserve."""
    from lstm_viz import RecordingGRU, RecordingLSTM

    torch.manual_seed(0)
    ref = (nn.LSTM if cell == "lstm" else nn.GRU)(I, H, 1, bidirectional=bidirectional).cuda().to(dtype)
    twin = (RecordingLSTM.from_lstm(ref) if cell == "lstm" else RecordingGRU.from_gru(ref)).eval()
    D = 2 if bidirectional else 1
    x = torch.randn(T, B, I, device="cuda", dtype=dtype)
    h0 = torch.zeros(D, B, H, device="cuda", dtype=dtype)
    c0 = torch.zeros_like(h0) if cell == "lstm" else None
    with torch.no_grad(), warnings.catch_warnings():  # cuDNN copies the weights here (no flat buffer given): fine
        warnings.filterwarnings("ignore", "RNN module weights are not part of single contiguous chunk")
        _, _, _, reserve = cudnn_rnn(
            x, list(ref._flat_weights), None, h0, c0, cell=cell, hidden_size=H, train=True, bidirectional=bidirectional
        )
        rec = twin.record(x, strategy="replay")
    size = torch.empty((), dtype=dtype).element_size()
    raw = reserve.view(torch.uint8).reshape(-1)
    flat = raw[: raw.numel() // size * size].view(dtype).double().cpu()
    tol = 1e-5 if dtype == torch.float32 else 2e-3
    found = {}
    for d in range(D):
        for name in rec.tensor_names:
            values = getattr(rec, name)[0, d].transpose(0, 1).double().cpu()  # (B, T, H) → (T, B, H)
            found[f"{name}[{'fwd' if d == 0 else 'bwd'}]"] = find_affine(flat, values, tol)
    return {"cell": cell, "dtype": str(dtype).removeprefix("torch."), "T": T, "B": B, "I": I, "H": H, "D": D,
            "reserve_elements": flat.numel(), "n_c": D * T * B * H, "found": found}  # fmt: skip


def _median_ms(call, repeats: int) -> float:
    """``call()``'s median time between CUDA synchronisations, after three warm-up calls."""
    for _ in range(3):
        call()
    runs = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        call()
        torch.cuda.synchronize()
        runs.append(time.perf_counter() - start)
    return 1e3 * statistics.median(runs)


def timing(repeats: int = 10) -> list[dict]:
    """cuDNN's training mode against its inference mode, one layer, float32 (TF32 as PyTorch's defaults)."""
    rows = []
    for B, T, I, H, bi in TIMING_SHAPES:
        torch.manual_seed(0)
        ref = nn.LSTM(I, H, 1, bidirectional=bi).cuda()
        D = 2 if bi else 1
        x = torch.randn(T, B, I, device="cuda")
        h0 = torch.zeros(D, B, H, device="cuda")
        params = list(ref._flat_weights)
        buffer = params[0].as_strided((params[0].untyped_storage().nbytes() // 4,), (1,), 0)
        with torch.no_grad():
            ms = {
                train: _median_ms(
                    functools.partial(
                        cudnn_rnn, x, params, buffer, h0, h0, cell="lstm", hidden_size=H, train=train, bidirectional=bi
                    ),
                    repeats,
                )
                for train in (False, True)
            }
        rows.append({"shape": [B, T, I, H, bi], "inference_ms": ms[False], "training_ms": ms[True]})
    return rows


def _fit(f: dict | None) -> str:
    if f is None:
        return "not found"
    return f"base {f['base']:>7}  strides t {f['st']:>7}  b {f['sb']:>7}  j {f['sj']:>6}  explains {f['frac']:.2f}"


def _json_file(text: str) -> Path:
    """argparse type of ``--json``: a .json file in a folder that exists (checked before the GPU work, not after)."""
    path = Path(text)
    if path.suffix != ".json":
        raise argparse.ArgumentTypeError(f"give a file name ending in .json, got {text!r}")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder {str(path.parent)!r} does not exist; make it first")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=_json_file, help="also write everything found to this JSON file")
    parser.add_argument("--no-timing", action="store_true", help="leave out cuDNN's training vs inference timing")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("cudnn_reserve_probe: no CUDA device here — nothing to probe (run it on a machine with an NVIDIA GPU)")
        return 0
    torch.backends.cudnn.allow_tf32 = False  # the search compares with replay's float32 products
    torch.backends.cuda.matmul.allow_tf32 = False
    print(f"device: {torch.cuda.get_device_name()}; torch {torch.__version__}; cuDNN {torch.backends.cudnn.version()}")
    results: dict = {"layouts": [], "timing": []}
    cases = [("lstm", dt, *s) for dt in (torch.float32, torch.float16) for s in LSTM_SHAPES]
    cases += [("gru", torch.float32, *s) for s in GRU_SHAPES]
    for cell, dtype, T, B, I, H, bi in cases:
        try:
            found = layout(cell, dtype, T, B, I, H, bi)
        except Exception as err:  # a shape or dtype this cuDNN refuses: said, and the others go on
            print(f"{cell} {dtype} T={T} B={B} I={I} H={H} D={2 if bi else 1}: failed ({type(err).__name__}: {err})")
            continue
        results["layouts"].append(found)
        print(f"{cell} {found['dtype']} T={T} B={B} I={I} H={H} D={found['D']}: reserve {found['reserve_elements']:,} "
              f"elements, D·T·B·H = {found['n_c']:,}")  # fmt: skip
        for name, fit in found["found"].items():
            print(f"    {name:8} {_fit(fit)}")
    if not args.no_timing:
        torch.backends.cudnn.allow_tf32 = True
        print("cuDNN training mode vs inference mode, one layer, float32, median of 10:")
        for row in timing():
            results["timing"].append(row)
            print(f"    (B, T, I, H, bi) = {tuple(row['shape'])}: inference {row['inference_ms']:.2f} ms, training "
                  f"{row['training_ms']:.2f} ms ({row['training_ms'] / row['inference_ms']:.2f}x)")  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
        print(f"written: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
