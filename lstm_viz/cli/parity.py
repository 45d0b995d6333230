"""``python -m lstm_viz parity [MODEL] [--input-size 10 --hidden-size 20 --num-layers 2 …] [--json]``: is
RecordingLSTM exactly torch.nn.LSTM here, on this machine, device and dtype?

Without MODEL it builds post 1's example — ``nn.LSTM(10, 20, 2)`` on an input of shape (5, 3, 10), sequence first —
or any other size given by the flags, and runs post 3's checks on it: the shapes of output, h_n and c_n from nn.LSTM
and from RecordingLSTM; the largest difference to nn.LSTM of RecordingLSTM's forward, of the recorded gates rebuilt
into c and h, and of post 3's hand-written per-step loop, each with ``torch.allclose`` as the post checks; then
post 3's two RNN checks (``nn.RNNCell`` stepped by hand against ``nn.RNN``, and a bidirectional RNN by hand).
With MODEL (a checkpoint) it checks that model's LSTM on random vectors, or on ``--input`` as its task reads it.

Exits 0 when every difference is within the dtype's rounding (:attr:`lstm_viz.core.reference.Parity.tolerance`),
1 when one is not; with ``--json`` the last stdout line is one object (``ok``, ``shapes``, ``max_diff``,
``allclose``, ``tolerance`` …).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch

from lstm_viz.cli.common import (
    ExitError,
    add_module,
    add_threads,
    device_named,
    parsed_input,
    print_json,
    seed_arg,
    use_threads,
)
from lstm_viz.core import reference as ref
from lstm_viz.core.device import describe_device, seeded
from lstm_viz.core.lstm import RecordingLSTM
from lstm_viz.training.checkpoints import CheckpointError, load_checkpoint, read_torch_file
from lstm_viz.training.state_dicts import recurrent_modules

__all__ = ["add_parser", "run"]

# Post 1's example: nn.LSTM(10, 20, 2) on torch.randn(5, 3, 10) (sequence first: 5 steps, batch 3).
POST_1 = {"input_size": 10, "hidden_size": 20, "num_layers": 2, "steps": 5, "batch": 3}
LIMITS = {"input_size": 4096, "hidden_size": 4096, "num_layers": 8, "steps": 10_000, "batch": 1024}
MAX_VALUES = 50_000_000  # values recorded (layers × directions × batch × steps × the tensors' widths): ~0.2 GB
DTYPES = {"float32": torch.float32, "float64": torch.float64}
SIZE_FLAGS = ("input_size", "hidden_size", "num_layers", "proj_size", "bidirectional", "no_bias", "batch_first")
NAMES = {"forward": "RecordingLSTM.forward", "recording": "recorded gates → c, h",
         "loop": "per-step loop (post 3's lstm_forward)"}  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:
    par = sub.add_parser(
        "parity", help="check that RecordingLSTM equals torch.nn.LSTM here (posts 1 and 3)",
        description="Check that RecordingLSTM equals torch.nn.LSTM on this machine: shapes (post 1), values and "
        "torch.allclose (post 3), for a new LSTM of any size or the LSTM of a checkpoint.",
    )  # fmt: skip
    par.add_argument("checkpoint", nargs="?", help="a model's checkpoint (default: a new random LSTM, post 1's sizes)")
    par.add_argument("--input-size", type=int, help=f"features per step (default {POST_1['input_size']})")
    par.add_argument("--hidden-size", type=int, help=f"units per layer (default {POST_1['hidden_size']})")
    par.add_argument("--num-layers", type=int, help=f"stacked layers (default {POST_1['num_layers']})")
    par.add_argument("--proj-size", type=int, help="LSTMP projection size, below --hidden-size (default 0: none)")
    par.add_argument("--bidirectional", action="store_true", help="a forward and a backward direction")
    par.add_argument("--no-bias", action="store_true", help="bias=False")
    par.add_argument("--batch-first", action="store_true", help="batch_first=True (default: sequence first, post 1)")
    par.add_argument("--steps", type=int, help=f"time steps (default {POST_1['steps']})")
    par.add_argument("--batch", type=int, help=f"sequences (default {POST_1['batch']})")
    par.add_argument("--input", help="with a checkpoint: an input its task reads, e.g. \"123 - 61\" (default: random "
                     "vectors)")  # fmt: skip
    par.add_argument("--state", choices=("zeros", "random"), default="zeros",
                     help="initial h0, c0: zeros (nn.LSTM's default) or random N(0, 1), as post 3 passes them")
    par.add_argument("--dtype", choices=tuple(DTYPES), default="float32", help="default float32")
    par.add_argument("--device", choices=("cpu", "cuda", "mps"), help="default: CUDA, then MPS, then CPU")
    par.add_argument("--seed", type=seed_arg, default=0, help="random seed of the weights and inputs (default 0)")
    par.add_argument("--json", action="store_true", help="one JSON object on the last stdout line")
    add_module(par)
    add_threads(par)
    par.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    use_threads(args.threads)
    device, dtype = device_named(args.device), DTYPES[args.dtype]
    if args.checkpoint is None:
        if args.module is not None:
            raise ExitError("--module chooses a recurrent module of a checkpoint: give the checkpoint too")
        lstm, x, what = _new_lstm(args)
    else:
        lstm, x, what = _model_lstm(args)
    lstm = lstm.to(device=device, dtype=dtype)
    x = x.to(device=device, dtype=dtype)  # batch-first (B, T, I), as ref.parity takes it
    hx = ref.initial_state(lstm, x.shape[0], seed=args.seed) if args.state == "random" else None
    par = ref.parity(lstm, x, hx)
    rnn = _post_3_rnn_checks(args.seed, dtype) if args.checkpoint is None else {}
    ok = par.ok and all(check.ok for check in rnn.values())
    if args.json:
        print_json({
            "lstm": _nn_name(lstm), "checkpoint": args.checkpoint, "module": args.module,
            "input_shape": list(_layout_shape(lstm, x)), "reference_finite": par.reference_finite,
            "batch_first": lstm.batch_first, "state": args.state, "dtype": args.dtype, "device": str(x.device),
            "seed": args.seed, "ok": ok,
            "shapes": {"nn.LSTM": _lists(par.shapes), "RecordingLSTM": _lists(par.twin_shapes)},
            "max_diff": par.rows, "allclose": par.allclose, "tolerance": par.tolerance, "scaled_diff": par.scaled_diff,
            "rnn": {name: {"max_diff": check.max_diff, "allclose": check.allclose, "ok": check.ok}
                    for name, check in rnn.items()},
        })  # fmt: skip
        return 0 if ok else 1
    print(f"{_nn_name(lstm)} on an input of shape {_layout_shape(lstm, x)} "
          f"({'batch first' if lstm.batch_first else 'sequence first'}), {what}, "
          f"{'random' if hx is not None else 'zero'} initial state; {args.dtype} on {describe_device(x.device)}, "
          f"seed {args.seed}")  # fmt: skip
    print(f"shapes (post 1)   {'nn.LSTM':<16}RecordingLSTM")
    for name in ("output", "h_n", "c_n"):
        print(f"  {name:<16}{par.shapes[name]!s:<16}{par.twin_shapes[name]}")
    print(f"max |difference| to nn.LSTM (post 3)     {'output':<10}{'h_n':<10}{'c_n':<10}torch.allclose")
    for method, row in par.rows.items():
        print(f"  {NAMES[method]:<39}" + "".join(f"{_diff(row[k]):<10}" for k in ("output", "h_n", "c_n"))
              + str(par.allclose[method]))  # fmt: skip
    print(f"  rounding tolerance in {args.dtype}: {par.tolerance:.2g} (relative to each value above 1); the largest "
          f"difference, so scaled: {_diff(par.scaled_diff)}" + ("" if par.ok else "  ← BEYOND ROUNDING"))  # fmt: skip
    for name, check in rnn.items():
        print(f"{name} (post 3): max |difference| {_diff(check.max_diff)}, torch.allclose {check.allclose}"
              + ("" if check.ok else "  ← BEYOND ROUNDING"))  # fmt: skip
    if ok and not (all(par.allclose.values()) and all(c.allclose for c in rnn.values())):
        print("  (torch.allclose says False above, yet within rounding: it allows |a − b| ≤ 1e-8 + 1e-5·|b|, next to "
              "nothing near 0, where a kernel that adds in another order differs in the last bits)")  # fmt: skip
    print(f"parity: {'ok' if ok else 'FAILED'}")
    if not par.reference_finite:
        raise ExitError("nn.LSTM's own output is not finite (inf or NaN) on these weights and this input: an "
                        "overflow, so there is nothing to compare; check the weights (or the --input)", code=1)
    if not ok:
        raise ExitError("a difference beyond rounding (marked above): RecordingLSTM is not nn.LSTM here; please "
                        "report it with this output and `python -m lstm_viz --version`", code=1)  # fmt: skip
    return 0


def _new_lstm(args: argparse.Namespace) -> tuple[RecordingLSTM, torch.Tensor, str]:
    """The LSTM the flags describe (post 1's where they say nothing) and a random input, batch-first."""
    if args.input is not None:
        raise ExitError("--input is read by a checkpoint's task: give a checkpoint, or leave --input out (a new "
                        "LSTM reads random vectors)")  # fmt: skip
    sizes = {k: _within_limit(k, POST_1[k] if getattr(args, k) is None else getattr(args, k)) for k in POST_1}
    proj = args.proj_size or 0
    if not 0 <= proj < sizes["hidden_size"]:
        raise ExitError(f"--proj-size must be from 0 (no projection) to {sizes['hidden_size'] - 1} (below "
                        f"--hidden-size {sizes['hidden_size']}), got {proj:,}")  # fmt: skip
    _check_values(sizes["num_layers"], 2 if args.bidirectional else 1, sizes["batch"], sizes["steps"],
                  sizes["hidden_size"], proj)  # fmt: skip
    with seeded(args.seed, restore=True):
        lstm = RecordingLSTM(
            sizes["input_size"], sizes["hidden_size"], sizes["num_layers"], bias=not args.no_bias,
            batch_first=args.batch_first, bidirectional=args.bidirectional, proj_size=proj,
        )  # fmt: skip
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(sizes["batch"], sizes["steps"], sizes["input_size"], generator=gen)
    post = "post 1's example" if sizes == POST_1 and not (proj or args.bidirectional or args.no_bias) else "new"
    return lstm.eval(), x, f"{post} weights and random input"


def _model_lstm(args: argparse.Namespace) -> tuple[RecordingLSTM, torch.Tensor, str]:
    """The checkpoint's LSTM (a copy: --dtype may change it) and its input: ``--input`` as the task reads it (what
    the LSTM itself reads: a text model's embeddings), or random vectors of ``--steps`` × ``--batch``."""
    given = [f"--{k.replace('_', '-')}" for k in SIZE_FLAGS if getattr(args, k) is not None and getattr(args, k)
             is not False]  # (0 is given: --proj-size 0)  # fmt: skip
    if given:
        raise ExitError(f"{', '.join(given)} describe{'s' if len(given) == 1 else ''} a new LSTM; a checkpoint has "
                        "its own sizes: leave them out, or leave out the checkpoint")  # fmt: skip
    model = load_checkpoint(args.checkpoint, device="cpu", module=args.module).model  # (moved to --device later)
    if any(isinstance(m, torch.nn.GRU) for m in model.modules()):
        lstms = _lstm_modules(args.checkpoint) if args.module is not None else []
        instead = (f"--module {lstms[0]!r} is an LSTM" if lstms else "give an LSTM model, e.g. "
                   "models/subtraction_lstm.pt")  # fmt: skip
        raise ExitError(f"{args.checkpoint}{' --module ' + repr(args.module) if args.module is not None else ''} "
                        "is a GRU, and this command checks RecordingLSTM against nn.LSTM (RecordingGRU's forward is "
                        f"nn.GRU's own; its recorded r, z, n, h are checked by the test suite): {instead}")  # fmt: skip
    try:
        lstm = ref.lstm_of(model)
    except ValueError as err:
        raise ExitError(f"{args.checkpoint}: {err}".replace(" Pick an LSTM model in the sidebar.", "")) from None
    lstm = RecordingLSTM.from_lstm(lstm).eval()  # a copy of the weights
    if args.input is not None:
        if args.steps is not None or args.batch is not None:
            raise ExitError("--steps and --batch size random input; --input has its own: give one or the other")
        x = parsed_input(model, args.input, label="--input: ").x
        with torch.no_grad():  # what the LSTM reads: a text model's character embeddings
            x = model.rnn_input(x) if hasattr(model, "rnn_input") else x
        return lstm, x.float(), f"{args.checkpoint}'s weights on --input {args.input!r}"
    steps = _within_limit("steps", POST_1["steps"] if args.steps is None else args.steps)  # (0 is given: refused)
    batch = _within_limit("batch", POST_1["batch"] if args.batch is None else args.batch)
    _check_values(lstm.num_layers, lstm.num_directions, batch, steps, lstm.hidden_size, lstm.proj_size)
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn(batch, steps, lstm.input_size, generator=gen)
    return lstm, x, f"{args.checkpoint}'s weights on random input"


def _within_limit(name: str, value: int) -> int:
    """``value`` of the flag for ``name`` (``"hidden_size"`` → ``--hidden-size``), or an ExitError outside 1…LIMITS."""
    if not 1 <= value <= LIMITS[name]:
        raise ExitError(f"--{name.replace('_', '-')} must be from 1 to {LIMITS[name]:,}, got {value:,}")
    return value


def _check_values(layers: int, directions: int, batch: int, steps: int, hidden: int, proj: int) -> None:
    """ExitError for a recording over MAX_VALUES values (each step: f, i, g, o, c, m of hidden units and h)."""
    values = layers * directions * batch * steps * (6 * hidden + (proj or hidden))
    if values > MAX_VALUES:
        raise ExitError(f"that recording would hold {values:,} values, more than {MAX_VALUES:,} (~0.2 GB): give fewer "
                        "--steps or --batch (or a smaller LSTM)")  # fmt: skip


def _lstm_modules(path: str) -> list[str]:
    """The names of the LSTMs in a checkpoint's state_dict (none for a file that is not one)."""
    try:
        obj, _ = read_torch_file(path)
        state = obj.get("state_dict", obj) if isinstance(obj, dict) else {}
        return [m for m, what in recurrent_modules(state).items() if what.startswith(("LSTM", "LSTMP"))]
    except (CheckpointError, AttributeError, TypeError):
        return []


def _post_3_rnn_checks(seed: int, dtype: torch.dtype) -> dict[str, ref.RnnUnroll | ref.BiRnnCheck]:
    return {
        "nn.RNNCell(10, 20) stepped by hand vs nn.RNN on (6, 3, 10)": ref.rnncell_vs_rnn(seed=seed, dtype=dtype),
        "bidirectional RNN by hand vs nn.RNN(2, 3, bidirectional=True)": ref.bidirectional_rnn_by_hand(
            seed=seed, dtype=dtype
        ),
    }


def _nn_name(lstm: RecordingLSTM) -> str:
    return "nn." + repr(lstm).replace("RecordingLSTM(", "LSTM(", 1)


def _layout_shape(lstm: RecordingLSTM, x: torch.Tensor) -> tuple[int, ...]:
    """``x``'s shape as the module reads it (x is batch-first here)."""
    return tuple(x.shape) if lstm.batch_first else (x.shape[1], x.shape[0], x.shape[2])


def _lists(shapes: dict[str, tuple[int, ...]]) -> dict[str, list[int]]:
    return {k: list(v) for k, v in shapes.items()}


def _diff(value: float) -> str:
    return "0" if value == 0 else f"{value:.1e}"
