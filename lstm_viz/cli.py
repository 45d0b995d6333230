"""The command line: ``python -m lstm_viz train|predict|record|info …`` (the progress bar goes to stderr; the
last line of stdout is one JSON object; errors are one line on stderr with a non-zero exit, no traceback).

Examples::

    python -m lstm_viz train toy-statquest --out models/toy_statquest.pt
    python -m lstm_viz train subtraction --data all --epochs 30 --out models/subtraction_lstm.pt
    python -m lstm_viz predict models/subtraction_lstm.pt "123 - 61" "200 - 7"
    echo "0, 0.5, 0.25, 1" | python -m lstm_viz predict models/toy_lstm.pt -
    python -m lstm_viz record models/subtraction_lstm.pt "123 - 61" --out rec.parquet
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import shlex
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import torch

from lstm_viz.parsing import InputError, parse_subtraction, parse_toy_sequence, parse_vectors
from lstm_viz.tasks import subtraction
from lstm_viz.tasks.models import LSTMVizModel, count_parameters
from lstm_viz.training.checkpoints import CheckpointError, load_checkpoint
from lstm_viz.training.engine import PRESETS, TASKS, make_trainer

__all__ = ["ExitError", "main", "parse_input"]

_TABLE_SUFFIXES = (".csv", ".parquet")


class ExitError(Exception):
    """A user-facing failure: printed as ``error: <message>`` on one line, exit status ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage block) so every failure looks the same."""

    def error(self, message: str) -> NoReturn:
        raise ExitError(f"{message} (see `{self.prog} --help`)")


# ---------------------------------------------------------------------- inputs
def parse_input(model: LSTMVizModel, text: str) -> torch.Tensor:
    """One typed input → the model's batch-first input ``(1, T, input_size)``, by model kind:
    subtraction ``"123 - 61"``; toy ``"0, 0.5, 0.25, 1"``; others rows ``"0.1, 0.2; 0.3, 0.4"``."""
    kind = model.config.kind
    if kind == "subtraction":
        a, b = parse_subtraction(text)
        x = subtraction.encode(a, b).unsqueeze(0)
    elif kind in ("statquest", "toy_lstm"):
        x = parse_toy_sequence(text).view(1, -1, 1)
    else:
        x = parse_vectors(text, model.config.input_size).unsqueeze(0)
    return x.to(next(model.parameters()).device)


def _answer(model: LSTMVizModel, x: torch.Tensor) -> Any:
    with torch.no_grad():
        out = model(x)
    kind = model.config.kind
    if kind == "subtraction":
        return subtraction.decode(out[0])
    if kind in ("statquest", "toy_lstm"):
        return float(out[0])
    if kind == "regressor":
        return [float(v) for v in out[0]]
    return [float(v) for v in out[0, -1]]  # sequence: the last step's output


def _format(answer: Any) -> str:
    if isinstance(answer, float):
        return f"{answer:.6g}"
    if isinstance(answer, list):
        return ", ".join(f"{v:.6g}" for v in answer)
    return str(answer)


def _read_inputs(items: Sequence[str]) -> list[str]:
    inputs: list[str] = []
    for item in items:
        if item == "-":
            inputs.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            inputs.append(item)
    if not inputs:
        raise ExitError("no inputs given; pass them as arguments or '-' to read one per line from stdin")
    return inputs


def _load(path: str) -> LSTMVizModel:
    ckpt = load_checkpoint(path, device=_device(None))
    return ckpt.model


def _device(name: str | None) -> torch.device:
    if name is None:
        from lstm_viz.core.device import pick_device

        return pick_device()
    if name == "cuda" and not torch.cuda.is_available():
        raise ExitError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    mps = getattr(torch.backends, "mps", None)
    if name == "mps" and not (mps is not None and mps.is_available()):
        raise ExitError("--device mps was asked for but Apple MPS is not available; use --device cpu")
    return torch.device(name)


def _json_safe(metrics: dict) -> dict:
    out = {}
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        out[key] = value
    return out


# ---------------------------------------------------------------------- commands
def _postfix(metrics: dict) -> dict[str, str]:
    shown = {"loss": f"{metrics['loss']:.4g}"}
    for key in ("out_0", "out_1", "test_exact_match"):
        if key in metrics:
            shown[key.replace("_exact_match", "_exact")] = f"{metrics[key]:.4f}"
    return shown


def cmd_train(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from tqdm import tqdm

    out = Path(args.out)
    if out.is_dir():
        raise ExitError(f"--out {out} is a folder; give a file name such as {out / (args.task + '.pt')}")
    try:  # fail before training, not after, if the checkpoint cannot be written
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExitError(f"cannot create the folder {out.parent} for --out: {err.strerror or err}") from None
    if not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise ExitError(f"cannot write {out}: permission denied; choose another --out")
    if args.epochs is not None and args.epochs < 0:
        raise ExitError(f"--epochs must be ≥ 0, got {args.epochs}")
    batch_size: Any = "preset"
    if args.batch_size is not None:
        if args.batch_size.strip().lower() == "full":
            batch_size = None
        else:
            try:
                batch_size = int(args.batch_size)
            except ValueError:
                raise ExitError(f"--batch-size must be a whole number or 'full', got {args.batch_size!r}") from None
    if args.data == "all" and not args.task.startswith("subtraction"):
        raise ExitError("--data all is for the subtraction tasks (every pair 0 ≤ b ≤ a ≤ 255)")
    trainer = make_trainer(
        args.task,
        preset=args.preset,
        lr=args.lr,
        batch_size=batch_size,
        seed=args.seed,
        data=args.data,
        hidden_size=args.hidden_size,
        proj_size=args.proj_size,
        num_layers=args.num_layers,
        bidirectional=args.bidirectional,
        device=_device(args.device),
        resume=args.resume,
    )
    epochs = args.epochs if args.epochs is not None else PRESETS[args.task][args.preset]["epochs"]
    started = time.perf_counter()
    interrupted = False
    epochs_run = 0
    bar = tqdm(total=epochs, desc=args.task, unit="epoch", file=sys.stderr, disable=args.quiet, leave=False)
    try:
        for metrics in trainer.run(epochs):
            epochs_run += 1
            bar.update(1)
            bar.set_postfix(_postfix(metrics), refresh=False)
            if args.jsonl:
                print(json.dumps(_json_safe(metrics)), flush=True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    seconds = time.perf_counter() - started

    summary: dict[str, Any] = {"task": args.task, "model": trainer.model.config.label()}
    summary.update(trainer.last)
    summary.update(trainer.evaluate())  # the final weights on both splits (history's train_* are running metrics)
    summary.pop("seconds", None)
    if args.task.startswith("subtraction"):
        check = subtraction.evaluate_all_pairs(trainer.model)
        summary["all_pairs_exact_match"] = check["exact_match"]
        summary["all_pairs_wrong"] = [f"{a} - {b} = {c}" for a, b, c in check["wrong"][:5]]
    summary.update(
        {
            "epochs_run": epochs_run,
            "data": trainer.data.source,
            "preset": args.preset,
            "seed": trainer.seed,
            "proj_size": trainer.model.config.proj_size,
            "parameters": count_parameters(trainer.model),
            "train_seconds": round(seconds, 3),
            "out": str(out),
        }
    )
    if trainer.history and trainer.history[-1].get("diverged"):
        summary["diverged"] = True
    if interrupted:
        summary["interrupted"] = True
    command = "python -m lstm_viz " + shlex.join(argv)
    meta = {
        "command": command,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "final": {k: v for k, v in summary.items() if isinstance(v, (int, float, str)) and v is not None},
    }
    trainer.save(out, meta=meta)
    print(json.dumps(_json_safe(summary)), flush=True)
    if interrupted:
        return 130
    return 3 if summary.get("diverged") else 0


def cmd_predict(args: argparse.Namespace, argv: Sequence[str]) -> int:
    model = _load(args.checkpoint)
    inputs = _read_inputs(args.inputs)
    tensors = []
    for n, text in enumerate(inputs, 1):
        try:
            tensors.append(parse_input(model, text))
        except InputError as err:
            where = f"input {n} ({text!r})" if len(inputs) > 1 else f"{text!r}"
            raise ExitError(f"{where}: {err}") from None
    answers = [_answer(model, x) for x in tensors]
    for text, answer in zip(inputs, answers, strict=True):
        print(json.dumps({"input": text, "answer": answer}) if args.json else _format(answer))
    return 0


def cmd_record(args: argparse.Namespace, argv: Sequence[str]) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in _TABLE_SUFFIXES:
        raise ExitError(f"--out must end in .csv or .parquet (got {out.name!r}), e.g. --out recording.parquet")
    model = _load(args.checkpoint)
    if not model.recordable:
        raise ExitError(
            "a GRU has no forget/input/output gates and no cell state, so it cannot be recorded; "
            "record an LSTM checkpoint instead"
        )
    x = parse_input(model, args.input)
    recording = model.record(x)
    frame = recording.to_frame(batch=0)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if out.suffix.lower() == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    summary = {
        "out": str(out),
        "rows": len(frame),
        "columns": list(frame.columns),
        "tensors": sorted(frame["tensor"].astype(str).unique().tolist()),
        "layers": recording.num_layers,
        "directions": recording.num_directions,
        "steps": recording.seq_len,
        "answer": _answer(model, x),
    }
    print(json.dumps(summary), flush=True)
    return 0


def cmd_info(args: argparse.Namespace, argv: Sequence[str]) -> int:
    ckpt = load_checkpoint(args.checkpoint, device="cpu")
    info = {
        "description": ckpt.description,
        "config": ckpt.config.to_dict(),
        "parameters": count_parameters(ckpt.model),
        "epochs": len(ckpt.history),
        "last": _json_safe(ckpt.history[-1]) if ckpt.history else None,
        "command": ckpt.meta.get("command"),
    }
    if ckpt.config.kind == "statquest":
        info["weights"] = ckpt.model.named_weights()
    print(json.dumps(info), flush=True)
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m lstm_viz",
        description="Train, query and record the lstm-viz models from the command line.",
        epilog="The last line of stdout is one JSON object (train, record, info). Errors: one line on stderr.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    train = sub.add_parser("train", help="train a model and save a checkpoint", description="Train a model.")
    train.add_argument("task", choices=TASKS, metavar="TASK", help=f"one of: {', '.join(TASKS)}")
    train.add_argument("--out", required=True, help="checkpoint file to write (atomically), e.g. models/x.pt")
    train.add_argument("--epochs", type=int, help="epochs to train (default: the preset's)")
    train.add_argument("--lr", type=float, help="Adam learning rate (default: the preset's)")
    train.add_argument("--seed", type=int, default=0, help="seed for the init and the shuffling (default 0)")
    train.add_argument("--preset", choices=("fast", "seed"), default="fast",
                       help="'seed' = the post's recipe as written; 'fast' (default) = quicker settings")  # fmt: skip
    train.add_argument("--batch-size", help="batch size, or 'full' for the whole training set")
    train.add_argument("--data", choices=subtraction.DATA_SOURCES, default="seed",
                       help="subtraction: 'seed' (the post's borrow pairs) or 'all' (0 ≤ b ≤ a ≤ 255)")  # fmt: skip
    train.add_argument("--proj-size", type=int, default=0, help="LSTMP projection size (subtraction, regressor)")
    train.add_argument("--hidden-size", type=int, help="hidden units (subtraction default 32)")
    train.add_argument("--num-layers", type=int, default=1, help="stacked layers (default 1)")
    train.add_argument("--bidirectional", action="store_true", help="bidirectional LSTM (subtraction, regressor)")
    train.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint (optimizer state and history)")
    train.add_argument("--device", choices=("cpu", "cuda", "mps"), help="default: CUDA, then MPS, then CPU")
    train.add_argument("--jsonl", action="store_true", help="also print every epoch's metrics as a JSON line")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train)

    predict = sub.add_parser("predict", help="answer inputs with a checkpoint", description="Predict.")
    predict.add_argument("checkpoint", help="a .pt checkpoint")
    predict.add_argument("inputs", nargs="+", metavar="INPUT",
                         help="e.g. '123 - 61' or '0, 0.5, 0.25, 1'; '-' reads inputs from stdin")  # fmt: skip
    predict.add_argument("--json", action="store_true", help="one JSON object per line instead of plain answers")
    predict.set_defaults(func=cmd_predict)

    record = sub.add_parser("record", help="record every gate and state for one input", description="Record.")
    record.add_argument("checkpoint", help="a .pt checkpoint of an LSTM model")
    record.add_argument("input", help="e.g. '123 - 61' or '0, 0.5, 0.25, 1'")
    record.add_argument("--out", required=True, help="a .csv or .parquet file")
    record.set_defaults(func=cmd_record)

    info = sub.add_parser("info", help="describe a checkpoint", description="Describe a checkpoint.")
    info.add_argument("checkpoint")
    info.set_defaults(func=cmd_info)
    return parser


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 1 unexpected failure)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # PyTorch warns once per process that LSTMP skips oneDNN; it is expected, not the user's problem.
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    try:
        args = build_parser().parse_args(argv)
        return args.func(args, argv)
    except ExitError as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return err.code
    except (InputError, CheckpointError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:  # no traceback for users; the message still says what failed
        print(f"error: unexpected {type(err).__name__}: {_one_line(err)}", file=sys.stderr)
        return 1
