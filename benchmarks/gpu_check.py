"""The recording core on a CUDA GPU, in one script of a few minutes: parity, speed against cuDNN, training.

    python benchmarks/gpu_check.py            # on a machine with CUDA (without one: says so, exits 0)
    python benchmarks/gpu_check.py --device cpu --quick --epochs 1   # to try the script itself on the CPU
    python benchmarks/gpu_check.py --suite 240   # and the test suite (no browser tests) on the GPU machine

1. Parity of RecordingLSTM on the device (and of RecordingGRU and interventions where ``from lstm_viz import
   RecordingGRU`` / ``Intervention`` work; "not available" otherwise): forward and gradients against nn.LSTM, record
   against forward, the recorded equations, the gates recomputed from the recorded h, record against a float64 CPU
   reference with the same weights, and the gates read from cuDNN's reserve against replay's, in float32 (TF32
   off), float32 with PyTorch's TF32 defaults, float16 and bfloat16 — each check prints its tolerance and the worst
   error it saw.
2. Speed: record (all tensors) against nn.LSTM's forward (cuDNN) at (batch, T, input, hidden) = (32, 256, 64, 256),
   (1, 1000, 32, 512), (256, 512, 128, 1024) and 2-layer bidirectional (16, 200, 32, 128), each timed between
   ``torch.cuda.synchronize()`` calls, median of several runs; goal ≤ 1.3×. Two more columns time record with
   ``strategy="replay"`` (the gates recomputed instead of read from cuDNN's reserve space, ``core/cudnn_gates.py``)
   and with cuDNN copying each layer's weights (what ``core/cudnn_layer.py`` avoids).
3. Training: the subtraction model for 20 epochs on the device, every pair (``data="all"``); 100 % test exact match.
4. With ``--suite SECONDS``: the test suite without its browser tests, on this machine (models land on the GPU as in
   the app), each failed test named as it finishes.

Exits 1 on any parity or training failure (timings only report MET/MISSED); the last line is a one-line summary.
"""

from __future__ import annotations

import argparse
import ast
import collections
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "benchmarks"):  # run from a checkout without installing the package; cli_args beside
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from cli_args import number, whole  # noqa: E402

from lstm_viz import RecordingLSTM  # noqa: E402

# dtype, and tolerances (absolute, also relative to the value's size) for: the recorded equations c = f c + i g and
# m = o tanh(c), which hold to the rounding of the dtype the recording is stored in; the gates recomputed from the
# recorded h (products of stored-precision h: TF32's 10-bit mantissa shows here); the float64 reference, which
# differs by the rounding of the whole computation.
PRECISIONS = {
    "float32": dict(dtype=torch.float32, eq=1e-5, gates=1e-4, ref=2e-5),
    "float32+tf32": dict(dtype=torch.float32, eq=1e-5, gates=1e-2, ref=1e-2),
    "float16": dict(dtype=torch.float16, eq=4e-3, gates=2e-2, ref=2e-2),
    "bfloat16": dict(dtype=torch.bfloat16, eq=3e-2, gates=1e-1, ref=1e-1),
}
SPEED_SHAPES = [  # (label, batch, T, input, hidden, layers, bidirectional)
    ("(32, 256, 64, 256)", 32, 256, 64, 256, 1, False),
    ("(1, 1000, 32, 512)", 1, 1000, 32, 512, 1, False),
    ("(256, 512, 128, 1024)", 256, 512, 128, 1024, 1, False),
    ("2-layer bi (16, 200, 32, 128)", 16, 200, 32, 128, 2, True),
]
SPEED_GOAL = 1.3
# The interventions' own tests, run on this machine by pytest (they import the CLI, hence every runtime requirement).
INTERVENTION_TESTS = ["tests/test_interventions.py"]
REQUIRED = ["pandas", "pyarrow", "plotly", "duckdb", "tqdm"]  # requirements.txt's, besides torch (and streamlit)


class Report:
    """Collects named checks: ok, worst error, tolerance; prints each as it runs."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, bool, str]] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.rows.append((name, bool(ok), detail))
        print(f"  {'ok  ' if ok else 'FAIL'} {name}{'  ' + detail if detail else ''}", flush=True)
        return ok

    def close(self, name: str, a: torch.Tensor, b: torch.Tensor, tol: float) -> bool:
        """|a - b| ≤ tol · max(1, |b|) everywhere (both in float64 on the CPU; NaN anywhere fails)."""
        a64, b64 = a.detach().double().cpu(), b.detach().double().cpu()
        if a64.shape != b64.shape:
            return self.check(name, False, f"shapes {tuple(a64.shape)} vs {tuple(b64.shape)}")
        err = max_err(a64, b64)
        return self.check(name, err <= tol, f"max |err|/max(1, |ref|) {err:.2e} (tol {tol:.0e})")

    def run(self, name: str, fn) -> None:
        """Run a group of checks; an exception in it is one failed check with its traceback's last line."""
        try:
            fn()
        except Exception as err:  # a crash is a parity failure, reported, and the script goes on
            last = traceback.format_exception_only(type(err), err)[-1].strip()
            self.check(f"{name}: ran without an exception", False, last[:300])

    @property
    def failures(self) -> list[str]:
        return [name for name, ok, _ in self.rows if not ok]


def max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max(1, |b|): absolute below 1, relative above (float64; NaN → inf)."""
    if not a.numel():
        return 0.0
    err = ((a - b).abs() / b.abs().clamp(min=1)).max().item()
    return err if err == err else float("inf")


@contextlib.contextmanager
def tf32(enabled: bool):
    """TF32 for cuDNN and cuBLAS float32 on or off inside the block."""
    before = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = enabled
    torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------------------------------------- parity
def reference(model: RecordingLSTM, x: torch.Tensor, hx) -> object:
    """The recording of the same weights in float64 on the CPU, by the per-step loop."""
    ref = RecordingLSTM.from_lstm(model).to("cpu", torch.float64)
    hx64 = None if hx is None else tuple(t.to("cpu", torch.float64) for t in hx)
    return ref.record(x.to("cpu", torch.float64), hx64, strategy="loop")


def equations(report: Report, tag: str, model: RecordingLSTM, rec, hx, tol: float, gate_tol: float) -> None:
    """c_t = f c_{t-1} + i g, m_t = o tanh(c_t), and the gates from the recorded h_{t-1} and the layer's input."""
    L, D, B, _, H = rec.f.shape
    f, i, g, o, c, m, h = (getattr(rec, n).double().cpu() for n in ("f", "i", "g", "o", "c", "m", "h"))
    if hx is None:
        c0 = torch.zeros(L, D, B, H, dtype=torch.float64)
        h0 = torch.zeros(L, D, B, h.shape[-1], dtype=torch.float64)
    else:
        batched = hx[0].dim() == 3
        c0 = (hx[1] if batched else hx[1].unsqueeze(1)).double().cpu().reshape(L, D, B, H)
        h0 = (hx[0] if batched else hx[0].unsqueeze(1)).double().cpu().reshape(L, D, B, -1)
    prev_c = torch.where(
        torch.arange(D).view(1, D, 1, 1, 1) == 0,
        torch.cat([c0.unsqueeze(3), c[:, :, :, :-1]], 3),
        torch.cat([c[:, :, :, 1:], c0.unsqueeze(3)], 3),
    )
    report.close(f"{tag}: c_t = f c_(t-1) + i g", c, f * prev_c + i * g, tol)
    report.close(f"{tag}: m_t = o tanh(c_t)", m, o * torch.tanh(c), tol)
    weights = {n: p.detach().double().cpu() for n, p in model.named_parameters()}
    worst = 0.0
    for k in range(L):
        layer_in = rec.x.double().cpu() if k == 0 else torch.cat([h[k - 1, d] for d in range(D)], -1)
        for d in range(D):
            sfx = f"l{k}{'_reverse' if d else ''}"
            h_prev = (
                torch.cat([h0[k, d].unsqueeze(1), h[k, d, :, :-1]], 1)
                if d == 0
                else torch.cat([h[k, d, :, 1:], h0[k, d].unsqueeze(1)], 1)
            )
            pre = layer_in @ weights[f"weight_ih_{sfx}"].T + h_prev @ weights[f"weight_hh_{sfx}"].T
            if model.bias:
                pre = pre + weights[f"bias_ih_{sfx}"] + weights[f"bias_hh_{sfx}"]
            pi, pf, pg, po = pre.chunk(4, -1)
            for got, want in ((i, pi.sigmoid()), (f, pf.sigmoid()), (g, pg.tanh()), (o, po.sigmoid())):
                worst = max(worst, max_err(got[k, d], want))
    report.check(f"{tag}: gates from the recorded h", worst <= gate_tol, f"max |err| {worst:.2e} (tol {gate_tol:.0e})")


LSTM_CONFIGS = [  # (input, hidden, layers, bidirectional, proj_size, batch_first, batch, T)
    (3, 5, 1, False, 0, False, 2, 6),
    (3, 5, 2, True, 0, True, 2, 6),
    (3, 5, 2, True, 2, False, 2, 6),
    (8, 32, 2, True, 0, True, 4, 80),  # T ≥ 64: c by the chunked scan on accelerators
]
LSTM_CONFIGS_MORE = [(16, 64, 3, False, 16, True, 8, 130), (4, 16, 1, True, 0, False, 1, 300)]


def lstm_case(report: Report, device: torch.device, name: str, config: tuple) -> None:
    """One model and input: forward, record, the equations, the float64 reference (and, in float32, the loop
    strategy and the gradients)."""
    tols = PRECISIONS[name]
    dtype = tols["dtype"]
    I, H, L, bi, P, bf, B, T = config
    tag = f"{name} I{I} H{H} L{L}{' bi' if bi else ''}{f' P{P}' if P else ''} B{B} T{T}"
    torch.manual_seed(0)
    ref = nn.LSTM(I, H, L, batch_first=bf, bidirectional=bi, proj_size=P)
    with torch.no_grad():
        for p in ref.parameters():
            p.uniform_(-0.5, 0.5)
    ref = ref.to(device, dtype)
    model = RecordingLSTM.from_lstm(ref)
    D = 2 if bi else 1
    x = torch.randn((B, T, I) if bf else (T, B, I), device=device, dtype=dtype)
    hx = (
        torch.randn(L * D, B, P or H, device=device, dtype=dtype) * 0.5,
        torch.randn(L * D, B, H, device=device, dtype=dtype) * 0.5,
    )
    with tf32(name == "float32+tf32"):
        with torch.no_grad():
            out, (_, c_n) = ref(x, hx)
            out2, (_, c_n2) = model(x, hx)
        report.close(f"{tag}: forward == nn.LSTM (output)", out2, out, 1e-6)  # the same function: equal or nearly
        report.close(f"{tag}: forward == nn.LSTM (c_n)", c_n2, c_n, 1e-6)
        rec = model.record(x, hx)
        report.close(f"{tag}: record output == forward ({rec.extras['strategy']})", rec.output, out, tols["eq"])
        report.close(f"{tag}: record c_n == forward c_n", rec.c_n, c_n, 10 * tols["eq"])
        equations(report, tag, model, rec, hx, tols["eq"], tols["gates"])
        exact = reference(model, x, hx)
        worst = max(
            max_err(getattr(rec, n).double().cpu(), getattr(exact, n)) for n in ("f", "i", "g", "o", "c", "m", "h")
        )
        # In half precision (and TF32) the kernel's own h drifts from float64 over layers and steps, and every recorded
        # tensor inherits that, plus the rounding of replay's own product for the gates: allow four times nn.LSTM's
        # own drift where that exceeds the tolerance (3.5× was seen for 3 layers of bfloat16 on an H200).
        drift = max_err(out.double().cpu(), exact.output)
        allowed = max(tols["ref"], 4 * drift)
        detail = f"max |err|/max(1, |ref|) {worst:.2e} (tol {allowed:.0e}; nn.LSTM's own output drifts {drift:.1e})"
        report.check(f"{tag}: record vs float64 CPU reference", worst <= allowed, detail)
        replay = rec if rec.extras["strategy"] == "replay" else model.record(x, hx, strategy="replay")
        if replay is not rec:  # cuDNN's own gates (its reserve space) against replay's recomputed ones
            worst = max(
                max_err(getattr(rec, n).double().cpu(), getattr(replay, n).double().cpu())
                for n in ("f", "i", "g", "o", "c", "m", "h")
            )
            tol = tols["gates"]
            detail = f"max |err| {worst:.2e} (tol {tol:.0e})"
            report.check(f"{tag}: {rec.extras['strategy']} == replay", worst <= tol, detail)
        # the fused cell kernel (where it ran) against replay's PyTorch calls
        model.REPLAY_FUSED = False
        try:
            calls = model.record(x, hx, strategy="replay")
        finally:
            model.REPLAY_FUSED = None
        worst = max(
            max_err(getattr(replay, n).double().cpu(), getattr(calls, n).double().cpu())
            for n in ("f", "i", "g", "o", "c", "m")
        )
        tol = 10 * tols["eq"]
        report.check(f"{tag}: fused cell == PyTorch calls", worst <= tol, f"max |err| {worst:.2e} (tol {tol:.0e})")
        if name != "float32":
            return
        loop = model.record(x, hx, strategy="loop")
        report.close(f"{tag}: loop == {rec.extras['strategy']}", loop.c, rec.c, 1e-4)
        grads = []
        for module in (ref, model):
            xi = x.clone().requires_grad_()
            o, (hn, cn) = module(xi, hx)
            (o.sum() + (hn**2).sum() + cn.sum()).backward()
            grads.append([xi.grad] + [p.grad.clone() for p in module.parameters()])
            module.zero_grad()
        worst_g = max(max_err(a.double().cpu(), b.double().cpu()) for a, b in zip(*grads, strict=True))
        detail = f"max |err|/max(1, |ref|) {worst_g:.2e} (tol 1e-05)"
        report.check(f"{tag}: gradients == nn.LSTM", worst_g <= 1e-5, detail)


def lstm_parity(report: Report, device: torch.device, quick: bool) -> None:
    configs = LSTM_CONFIGS + ([] if quick else LSTM_CONFIGS_MORE)
    for name in PRECISIONS:
        print(f"[RecordingLSTM, {name}]")
        for config in configs:
            report.run(f"{name} {config}", lambda name=name, config=config: lstm_case(report, device, name, config))

    print("[RecordingLSTM, the rest]")

    def rest() -> None:
        model = RecordingLSTM(3, 4, 2, bidirectional=True).to(device)
        empty = model.record(torch.zeros(5, 0, 3, device=device))
        report.check(
            "empty batch: empty recording", empty.f.shape == (2, 2, 0, 5, 4) and empty.output.shape == (5, 0, 8)
        )
        errors = []
        for m_ in (nn.LSTM(3, 4, 2, bidirectional=True).to(device), model):
            try:
                m_(torch.randn(5, 2, 3, device=device), (torch.zeros(4, 3, 4, device=device),) * 2)
            except RuntimeError as err:
                errors.append(err)
        same = len(errors) == 2 and isinstance(errors[1], ValueError) and str(errors[0]) in str(errors[1])
        report.check("wrong hx: RuntimeError like nn.LSTM, and a ValueError", same)
        if device.type == "cuda":
            try:
                model(torch.randn(5, 2, 3))
                report.check("CPU input to a CUDA model refused", False)
            except RuntimeError as err:
                report.check("CPU input to a CUDA model refused", isinstance(err, ValueError), str(err)[:90])

        class Uses(nn.Module):
            def __init__(self, lstm: nn.Module) -> None:
                super().__init__()
                self.lstm = lstm

            def forward(self, x: torch.Tensor):
                return self.lstm(x)[0]

        x = torch.randn(7, 2, 3, device=device)
        scripted = torch.jit.script(Uses(model))
        report.close("torch.jit.script: scripted == eager", scripted(x), model(x)[0], 0.0)

    report.run("the rest", rest)


def gru_parity(report: Report, device: torch.device) -> str:
    try:
        from lstm_viz import RecordingGRU
    except ImportError:
        print("[RecordingGRU] not available (from lstm_viz import RecordingGRU fails)")
        return "GRU n/a"
    print("[RecordingGRU]")
    for dtype, tol in ((torch.float32, 1e-5), (torch.float16, 4e-3), (torch.bfloat16, 3e-2)):
        for L, bi in ((1, False), (2, True)):
            tag = f"GRU {str(dtype)[6:]} L{L}{' bi' if bi else ''}"

            def one(dtype=dtype, tol=tol, L=L, bi=bi, tag=tag):
                torch.manual_seed(0)
                ref = nn.GRU(3, 16, L, bidirectional=bi).to(device, dtype)
                model = RecordingGRU(3, 16, L, bidirectional=bi).to(device, dtype)
                model.load_state_dict(ref.state_dict())
                x = torch.randn(90, 2, 3, device=device, dtype=dtype)
                with torch.no_grad(), tf32(False):
                    out = ref(x)[0]
                    report.check(f"{tag}: forward == nn.GRU", torch.equal(model(x)[0], out))
                    rec = model.record(x)
                    if hasattr(rec, "output"):
                        report.close(f"{tag}: record output == forward", rec.output, out, tol)
                    else:
                        print(f"  (skipped) {tag}: the recording has no .output to compare")

            report.run(tag, one)
    return "GRU checked"


def intervention_parity(report: Report, device: torch.device) -> None:
    """Interventions on the device against the same interventions in float64 on the CPU: record, the differentiable
    forward (values and input gradients) and the batched ablation sweep (LSTMP 2-layer bidirectional; a GRU)."""
    from lstm_viz import Intervention, RecordingGRU, intervened_forward
    from lstm_viz.core.sweep import ablated_outputs

    print(f"[interventions on {device.type}] against float64 on the CPU (TF32 off)")
    with tf32(False):
        for cell in ("lstm", "gru"):
            torch.manual_seed(0)
            if cell == "lstm":
                cpu = RecordingLSTM(8, 16, 2, bidirectional=True, proj_size=4, batch_first=True).double()
                ivs = [Intervention("layer0.fwd.c", 0.0, steps=[3], units=[2]),
                       Intervention("layer1.bwd.f", 1.0, steps=[5]),
                       Intervention("layer1.fwd.m", 0.5, steps=[2, 7], units=[3])]  # fmt: skip
                name, width = "layer0.bwd.h", 4
            else:
                cpu = RecordingGRU(8, 16, 2, bidirectional=True, batch_first=True).double()
                ivs = [Intervention("layer0.fwd.z", 1.0, steps=[3]), Intervention("layer1.bwd.n", 0.0, units=[1])]
                name, width = "layer1.fwd.h", 16
            dev = type(cpu).from_gru(cpu) if cell == "gru" else RecordingLSTM.from_lstm(cpu)
            dev = dev.to(device=device, dtype=torch.float32)
            x = torch.randn(4, 12, 8, dtype=torch.float64)
            ref, got = cpu.record(x, interventions=ivs), dev.record(x.to(device, torch.float32), interventions=ivs)
            for q in ref.tensor_names:
                report.close(f"{cell} record under interventions: {q}", getattr(got, q), getattr(ref, q), 1e-4)
            xg = x.to(device, torch.float32).requires_grad_(True)
            xc = x.clone().requires_grad_(True)
            out_d, out_c = intervened_forward(dev, xg, None, ivs)[0], intervened_forward(cpu, xc, None, ivs)[0]
            report.close(f"{cell} forward under interventions", out_d, out_c, 1e-4)
            out_d.pow(2).sum().backward()
            out_c.pow(2).sum().backward()
            report.close(f"{cell} input gradients under interventions", xg.grad, xc.grad, 1e-3)
            fast = ablated_outputs(dev, x.to(device, torch.float32), name, list(range(width)), 0.0)
            slow = torch.stack([intervened_forward(cpu, x, None, [Intervention(name, 0.0, units=[u])])[0]
                                for u in range(width)])  # fmt: skip
            report.close(f"{cell} ablation sweep on the device", fast, slow, 1e-4)


def _missing(packages: list[str]) -> list[str]:
    """Those of ``packages`` that this Python cannot import."""
    return [name for name in packages if importlib.util.find_spec(name) is None]


def _broken(packages: list[str]) -> dict[str, str]:
    """Those of ``packages`` that are installed but fail to import, with why: streamlit carried to a GPU image without
    its server packages (starlette…) fails once with "No module named 'starlette'" and then, in every test that
    imports it again in that process, with "DeltaGeneratorSingleton instance already exists!" — 60 errors that do
    not say why."""
    broken = {}
    for name in packages:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            importlib.import_module(name)
        except Exception as error:  # any failure to import is reported, not raised
            broken[name] = f"{type(error).__name__}: {error}"
    return broken


def _files_importing(packages: list[str]) -> list[Path]:
    """The test files (tests/**/test_*.py) whose module-level imports name one of ``packages``: without those
    packages they cannot even be collected, so the suite leaves them out and says so (tests that import a missing
    package inside themselves skip or fail on their own)."""
    if not packages:
        return []
    found = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = set()
        for node in tree.body:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        if any(name.split(".")[0] in packages for name in names):
            found.append(path)
    return found


def intervention_tests(report: Report, device: torch.device) -> str:
    try:
        from lstm_viz import Intervention  # noqa: F401
    except ImportError:
        print("[interventions] not available (from lstm_viz import Intervention fails)")
        return "interventions n/a"
    report.run("interventions on the device", lambda: intervention_parity(report, device))
    files = [f for f in INTERVENTION_TESTS if (ROOT / f).is_file()]
    print(f"[interventions] their tests: {', '.join(files) or 'none found'}")
    if not files:
        return "interventions: no tests"
    missing = _missing(REQUIRED)
    if missing:  # a GPU image with PyTorch but not lstm-viz's own requirements: say which, don't run half the tests
        report.check("intervention tests: lstm-viz's requirements installed", False,
                     f"missing {', '.join(missing)}: pip install -r requirements.txt")  # fmt: skip
        return "interventions: tests not run"
    done = subprocess.run(
        # -o addopts=: not the suite's own options (two xdist workers, durations); -rfE: name what failed
        [sys.executable, "-m", "pytest", "-q", "-o", "addopts=", "-rfE", "-p", "no:cacheprovider", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
    )
    lines = done.stdout.strip().splitlines() or [""]
    for line in lines:
        if line.startswith(("FAILED", "ERROR")):
            print(f"    {line[:300]}")
    report.check("intervention tests pass", done.returncode == 0, lines[-1])
    return "interventions checked"


# ---------------------------------------------------------------------------------------------------- speed
def _medians(fns: dict, device: torch.device, repeats: int) -> dict[str, float]:
    """Each function's median seconds over ``repeats`` rounds (two warm-up calls each; the functions take turns in
    every round, so a drift of the machine's speed touches all alike), timed between device synchronisations."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    with torch.no_grad():
        for fn in fns.values():
            fn()
            fn()
        for _ in range(repeats):
            for k, fn in fns.items():
                sync(device)
                start = time.perf_counter()
                fn()
                sync(device)
                times[k].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def _copying(fn):
    """``fn`` run with cuDNN copying each layer's weights as PyTorch's own call does (``cudnn_layer.NO_COPY`` off)."""
    from lstm_viz.core import cudnn_layer

    def run():
        cudnn_layer.NO_COPY = False
        try:
            return fn()
        finally:
            cudnn_layer.NO_COPY = True

    return run


def speed(device: torch.device, repeats: int, quick: bool) -> list[tuple[str, float]]:
    from lstm_viz.core import fused_cell

    print(
        f"[speed] record (auto) / nn.LSTM forward, median of {repeats}; TF32 as PyTorch's defaults "
        f"(cudnn {torch.backends.cudnn.allow_tf32}, matmul {torch.backends.cuda.matmul.allow_tf32}); "
        f"{fused_cell.status()}; then record with strategy='replay' (the gates recomputed, the fused cell kernel); "
        f"then record with cuDNN copying each layer's weights out of the flat buffer (cudnn_layer.NO_COPY = False; "
        f"the same call for one layer)"
    )

    head = f"  {'shape':32} {'nn.LSTM ms':>10} {'record ms':>10} {'ratio':>7}  strategy"
    print(f"{head}    {'(replay ms':>10} {'ratio)':>7}   {'(copy ms':>9} {'ratio)':>7}")
    ratios = []
    shapes = SPEED_SHAPES if not quick and device.type == "cuda" else SPEED_SHAPES[:2] + SPEED_SHAPES[3:]
    for label, B, T, I, H, L, bi in shapes:
        torch.manual_seed(0)
        ref = nn.LSTM(I, H, L, batch_first=True, bidirectional=bi).to(device).eval()
        model = RecordingLSTM.from_lstm(ref)
        x = torch.randn(B, T, I, device=device)
        fns = {
            "ref": lambda ref=ref, x=x: ref(x),
            "rec": lambda model=model, x=x: model.record(x),
            "calls": lambda model=model, x=x: model.record(x, strategy="replay"),
            "copy": _copying(lambda model=model, x=x: model.record(x)),
        }
        t_ref, t_rec, t_calls, t_copy = _medians(fns, device, repeats).values()
        ratio = t_rec / t_ref
        ratios.append((label, ratio))
        verdict = "MET" if ratio <= SPEED_GOAL else "MISSED"
        print(
            f"  {label:32} {t_ref * 1e3:10.2f} {t_rec * 1e3:10.2f} {ratio:6.2f}x  {model._pick_strategy(B):10}"
            f"  {t_calls * 1e3:9.2f} {t_calls / t_ref:6.2f}x  {t_copy * 1e3:9.2f} {t_copy / t_ref:6.2f}x"
            f"   (≤ {SPEED_GOAL}x {verdict})",
            flush=True,
        )
        del ref, model, x
        if device.type == "cuda":
            torch.cuda.empty_cache()
    gru_speed(device, repeats)
    return ratios


def gru_speed(device: torch.device, repeats: int) -> None:
    """RecordingGRU.record / nn.GRU's forward at the 2-layer bidirectional shape: no goal is set for it, printed so
    that a GPU session sees where the GRU stands (its replay has no fused elementwise kernel)."""
    try:
        from lstm_viz import RecordingGRU
    except ImportError:
        return
    torch.manual_seed(0)
    ref = nn.GRU(32, 128, 2, batch_first=True, bidirectional=True).to(device).eval()
    model = RecordingGRU.from_gru(ref)
    x = torch.randn(16, 200, 32, device=device)

    fns = {"ref": lambda: ref(x), "rec": lambda: model.record(x), "copy": _copying(lambda: model.record(x))}
    t_ref, t_rec, t_copy = _medians(fns, device, repeats).values()
    print(
        f"  GRU 2-layer bi (16, 200, 32, 128): nn.GRU {t_ref * 1e3:.2f} ms, record {t_rec * 1e3:.2f} ms "
        f"({t_rec / t_ref:.2f}x; {t_copy / t_ref:.2f}x with cuDNN copying each layer's weights) — no goal set",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------------- training
def training(report: Report, device: torch.device, epochs: int) -> str:
    print(f"[training] subtraction, fast preset, every pair, {epochs} epochs on {device}")
    try:
        from lstm_viz.training.engine import make_trainer
    except ImportError as err:
        report.check(
            "training: make_trainer importable",
            False,
            f"{err}; the training engine moved — update the import in benchmarks/gpu_check.py",
        )
        return "training n/a"
    from lstm_viz.tasks import subtraction

    start = time.perf_counter()
    trainer = make_trainer("subtraction", preset="fast", device=device, data="all", seed=0)
    trainer.train_epochs(epochs)
    metrics = trainer.evaluate()
    every = subtraction.evaluate_all_pairs(trainer.model)
    exact = metrics.get("test_exact_match", float("nan"))
    seconds = time.perf_counter() - start
    detail = f"test {exact:.2%}, every pair {every['exact_match']:.2%}, {seconds:.0f} s"
    report.check(f"training: test exact match 100 % after {epochs} epochs", exact == 1.0, detail)
    return f"test exact match {exact:.1%}"


# ---------------------------------------------------------------------------------------------------- the suite
def suite(report: Report, limit: float) -> str:
    """The test suite without its browser tests, on this machine: with CUDA visible, the models and recordings that
    the app and the CLI would put on the GPU go there. Failed tests are printed as they finish (so a run cut off by
    ``limit`` seconds still names them); one check for the whole run."""
    missing = _missing([*REQUIRED, "streamlit"])
    print(f"[suite] python -m pytest -m 'not browser' tests/ on this machine, at most {limit:.0f} s")
    broken = _broken([*REQUIRED, "streamlit"])
    for name, why in broken.items():
        print(f"  ({name} is installed but does not import here — {why}; its dependencies are missing)")
    unrunnable = _files_importing(missing + list(broken))
    if unrunnable:
        print(f"  (not usable here: {', '.join(missing + list(broken))}; left out, as they import it at the top:")
        print(f"   {', '.join(path.name for path in unrunnable)})")
    command = [sys.executable, "-m", "pytest", "-o", "addopts=", "-m", "not browser", "-p", "no:cacheprovider", "-v"]
    command += ["-p", "gpu_check_failures", "-rfE", "--continue-on-collection-errors", "tests"]
    command += [f"--ignore={path}" for path in unrunnable]
    workers = 1
    if importlib.util.find_spec("xdist") is not None:
        workers = max(1, min(12, (os.cpu_count() or 2) - 1))
        command += ["-n", str(workers)]
    # benchmarks/ on the path for the plugin that names each failure's cause as it comes; each worker's PyTorch gets
    # its share of the cores (by default every worker would start one thread per core, and they would fight).
    threads = str(max(1, (os.cpu_count() or 2) // workers))
    path = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    started = time.perf_counter()
    stopped = threading.Event()
    popen = dict(cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    with subprocess.Popen(command, **popen) as proc:

        def stop() -> None:
            stopped.set()
            proc.kill()

        timer = threading.Timer(limit, stop)
        timer.start()
        counts = collections.Counter()
        last = ""
        try:
            for line in proc.stdout:
                line = line.rstrip()
                padded = f" {line} "
                outcomes = [o for o in ("PASSED", "FAILED", "ERROR", "SKIPPED") if f" {o} " in padded]
                summary = line.startswith(("FAILED ", "ERROR "))  # -rfE's list at the end: counted already
                if "::" in line and not summary:
                    counts.update(outcomes)
                if "GPU_CHECK_FAILURE " in line:  # the plugin's line: the failure's cause
                    print(f"      {line.partition('GPU_CHECK_FAILURE ')[2][:900]}", flush=True)
                    continue
                if summary or ("::" in line and {"FAILED", "ERROR"} & set(outcomes)):
                    print(f"    {line[:300]}", flush=True)
                if line.strip():
                    last = line
        finally:
            timer.cancel()
        proc.wait()
    cut = stopped.is_set()
    seconds = time.perf_counter() - started
    tally = ", ".join(f"{n} {k.lower()}" for k, n in counts.items()) or last[:200]
    ok = not cut and not counts["FAILED"] and not counts["ERROR"] and proc.returncode == 0
    detail = f"{tally}; {seconds:.0f} s" + (f" — stopped at the {limit:.0f} s limit" if cut else "")
    report.check("test suite (no browser tests) on this machine", ok, detail)
    return f"suite: {tally}"


def _device(text: str) -> str:
    """argparse type of ``--device``: cuda, cuda:N or cpu (a GPU's index is checked once CUDA is known to be here)."""
    try:
        kind = torch.device(text).type
    except RuntimeError:
        kind = None
    if kind not in ("cuda", "cpu"):
        raise argparse.ArgumentTypeError(f"must be cuda, cuda:N (the GPU's index) or cpu, got {text!r}")
    return text


MAX_EPOCHS = 1000  # of --epochs: the subtraction model trains on every pair, seconds an epoch
MAX_SUITE_SECONDS = 86_400  # a day: the suite takes minutes; far beyond, its timer cannot even be set


def main() -> int:
    wanted = f"0 (no suite, the default) or the suite's limit in seconds, at most {MAX_SUITE_SECONDS:,} (a day)"
    suite_seconds = number(0, MAX_SUITE_SECONDS, low_ok=True, what=wanted)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--device", type=_device, default="cuda", help="cuda (default) or cpu, to try the script without a GPU"
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer parity cases and repeats; no (256, 512, …) shape (nor on the CPU)"
    )
    parser.add_argument(
        "--epochs",
        type=whole(1, MAX_EPOCHS, why="or --skip-training to leave training out"),
        default=20,
    )
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument(
        "--suite",
        type=suite_seconds,
        metavar="SECONDS",
        default=0,
        help="also run the test suite without its browser tests here, for at most SECONDS (e.g. 240), naming each "
        "failed test as it finishes",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            f"gpu_check: SKIPPED — no CUDA device here (torch {torch.__version__}, "
            f"torch.cuda.is_available() is False); nothing checked"
        )
        return 0
    device = torch.device(args.device)
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        last = torch.cuda.device_count() - 1
        here = "cuda:0" if last == 0 else f"cuda:0 to cuda:{last}"
        parser.error(f"argument --device: {args.device} names no GPU here; give cuda or {here}")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    cudnn = torch.backends.cudnn.version() if device.type == "cuda" else None
    print(f"device: {name}; torch {torch.__version__}; cuDNN {cudnn}")
    report = Report()
    lstm_parity(report, device, args.quick)
    gru = gru_parity(report, device)
    interventions = intervention_tests(report, device)
    ratios = speed(device, 5 if args.quick else 10, args.quick)
    trained = "training skipped" if args.skip_training else training(report, device, args.epochs)
    tested = f"; {suite(report, args.suite)}" if args.suite > 0 else ""
    failures = report.failures
    summary = ", ".join(f"{label} {ratio:.2f}x" for label, ratio in ratios)
    met = sum(ratio <= SPEED_GOAL for _, ratio in ratios)
    print(f"\nfailed: {'; '.join(failures)}" if failures else "")
    print(
        f"gpu_check: {'FAIL' if failures else 'PASS'} on {name} — parity {len(report.rows) - len(failures)}/"
        f"{len(report.rows)} checks; {gru}; {interventions}; record/nn.LSTM {summary} ({met}/{len(ratios)} "
        f"≤ {SPEED_GOAL}x); {trained}{tested}; {time.perf_counter() - started:.0f} s"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
