"""``python -m lstm_viz train TASK --out FILE``: train a task's model with the engine and save a checkpoint.

Progress (with an ETA) goes to stderr; the last line of stdout is one JSON object with the final metrics, both
splits evaluated on the final weights, plus what the task checks at the end (subtraction: every pair).

Ctrl-C or SIGTERM stops the run at the end of the mini-batch (or the character model's step) in progress and saves
it with its place in the epoch, so that ``--resume`` goes on exactly as if it had not stopped; a second one quits at
once and writes nothing.

A task's own recipe settings (``Task.training_options``, e.g. the character model's ``--seq-len``, ``--minutes``)
are flags too, generated from the task; a task with its own loop (charlm: truncated BPTT) runs until its budget of
characters or minutes is spent, and the bar counts characters or seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import math
import shlex
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from lstm_viz.cli.common import (
    ExitError,
    Terminated,
    check_checkpoint_out,
    check_threads,
    device_named,
    flag_first,
    print_json,
    seed_arg,
    stopped_how,
)
from lstm_viz.parsing import quote
from lstm_viz.tasks import count_parameters, get_task, registered
from lstm_viz.training.engine import PRESETS, TASKS, make_trainer

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser("train", help="train a model and save a checkpoint", description="Train a model.")
    train.add_argument("task", choices=TASKS, metavar="TASK", help=f"one of: {', '.join(TASKS)}")
    train.add_argument("--out", required=True, help="checkpoint file to write (atomically), e.g. models/x.pt")
    train.add_argument("--epochs", type=int, help="epochs to train (default: the preset's — with --resume, the "
                       "checkpoint's preset, or what is left of a run stopped before its end; for charlm, blocks of "
                       "--log-every steps, and by default it trains until --minutes or --max-chars)")
    train.add_argument("--lr", type=float, help="Adam learning rate (default: the preset's)")
    train.add_argument("--seed", type=seed_arg, default=None,
                       help="random seed of the init and the shuffling (default 0)")
    preset_names = sorted({p for task in registered() for recipes in task.presets.values() for p in recipes})
    train.add_argument("--preset", choices=preset_names, default=None,
                       help="'seed' = the post's recipe as written (e.g. post 4's Adam lr 0.01, batch 128, 100 "
                            "epochs, its DataLoader's batches; with --seed 822, post 4's own random seed, its very "
                            "run; the value keeps its old name for scripts); 'fast' (default) = quicker settings; "
                            "charlm: 'fast' (10 minutes) or 'shipped' (the shipped model's recipe: 50 M "
                            "characters, about an hour on one CPU thread)")
    train.add_argument("--batch-size", help="batch size, or 'full' for the whole training set")
    sources = sorted({s for task in registered() for s in task.data_sources})
    train.add_argument("--data", choices=sources, default=None,
                       help="subtraction: 'seed' (post 4's 10,000 borrow pairs, as the post made them; the default) "
                            "or 'all' (0 ≤ b ≤ a ≤ 255); charlm: 'stdlib' (the running Python's standard library)")
    train.add_argument("--proj-size", type=int, default=None,
                       help="LSTMP projection size (subtraction, regressor, charlm; default 0: none)")
    train.add_argument("--hidden-size", type=int, help="hidden units (subtraction default 32)")
    train.add_argument("--num-layers", "--layers", type=int,
                       help="stacked layers, 1 to 64 (default: the task's, 1; regressor and charlm 2)")
    train.add_argument("--bidirectional", action="store_true", help="bidirectional LSTM (subtraction, regressor)")
    train.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint (optimizer state and history)")
    train.add_argument("--device", choices=("cpu", "cuda", "mps"), help="default: CUDA, then MPS, then CPU")
    train.add_argument("--threads", type=int, help="CPU threads (default: 1 for models under a million parameters, "
                                                   "else PyTorch's)")
    train.add_argument("--without-optimizer", action="store_true",
                       help="leave the optimizer state out of the checkpoint (a file a third the size; resuming "
                            "from it starts the optimizer's moments afresh)")
    seen: set[str] = set()
    for task in registered():
        names = ", ".join(task.training_names)
        for option in task.training_options:
            if option.name in seen:
                continue
            seen.add(option.name)
            train.add_argument(*option.flags, dest=f"option_{option.name}", type=option.type, default=None,
                               metavar=option.name.split("_")[-1].upper(), help=f"{names}: {option.help}")
    train.add_argument("--jsonl", action="store_true", help="also print every epoch's metrics as a JSON line")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=run)


def _postfix(metrics: dict, keys: tuple[str, ...]) -> dict[str, str]:
    shown = {"loss": f"{metrics['loss']:.4g}"}
    for key in keys:
        if key in metrics:
            shown[key.replace("_exact_match", "_exact")] = f"{metrics[key]:.4f}"
    return shown


def _check_resumed_sizes(args: argparse.Namespace, trainer: Any, preset: str | None) -> None:
    """--resume continues the checkpoint's model and recipe as they are: a size, seed or preset given beside it that
    differs from the checkpoint's is refused (they used to be ignored silently, yet stored in the saved command). A
    file saved before the trainer kept its preset takes the one given."""
    config = trainer.model.config
    given = {"--hidden-size": (args.hidden_size, config.hidden_size), "--proj-size": (args.proj_size, config.proj_size),
             "--num-layers": (args.num_layers, config.num_layers), "--seed": (args.seed, trainer.seed),
             "--bidirectional": (True if args.bidirectional else None, config.bidirectional),
             "--preset": (preset, trainer.preset or preset)}  # fmt: skip
    wrong = [f"{flag} {'' if value is True else value}".strip() for flag, (value, held) in given.items()
             if value is not None and value != held]  # fmt: skip
    if wrong:
        raise ExitError(f"{', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not apply with --resume: "
                        f"{args.resume} holds a {config.label()} (random seed {trainer.seed}, recipe "
                        f"{trainer.preset or args.preset!r}); drop "
                        f"{'it' if len(wrong) == 1 else 'them'} or train afresh without --resume")  # fmt: skip


def _epochs_to_run(args: argparse.Namespace, trainer: Any) -> int:
    """--epochs, else: what is left of a resumed run that was stopped before its end (it finishes as if it had not
    stopped), else the recipe's length — the resumed checkpoint's recipe, not the default preset. A task with its own
    loop and no epoch count trains until its budget is spent. The run's end goes into ``trainer.until_epoch``, saved
    with the checkpoint, so that a stop before it can be finished."""
    if args.epochs is not None:
        epochs = args.epochs
    elif args.resume is not None and trainer.until_epoch is not None and trainer.until_epoch > trainer.epoch:
        epochs = trainer.until_epoch - trainer.epoch
        print(f"note: {args.resume} was stopped {epochs:,} epochs before the end of its run (epoch "
              f"{trainer.until_epoch:,}); finishing it — --epochs N trains N instead", file=sys.stderr)  # fmt: skip
    else:
        recipe = trainer.preset if trainer.preset in PRESETS[args.task] else args.preset
        epochs = PRESETS[args.task][recipe]["epochs"]
    if epochs is None:  # a task with its own loop: until its budget is spent
        return sys.maxsize
    trainer.until_epoch = trainer.epoch + epochs
    return epochs


def _loss_grew(history: Sequence[dict]) -> str:
    """In words, when the run ended with a loss over twice its first epoch's (training went the wrong way), else ""."""
    losses = [h["loss"] for h in history if isinstance(h.get("loss"), (int, float)) and math.isfinite(h["loss"])]
    if len(losses) >= 2 and losses[-1] > 2 * losses[0]:
        return f"the loss grew from {losses[0]:.4g} (the first epoch) to {losses[-1]:.4g} (the last)"
    return ""


_FLAGS = (("learning rate", "--lr"), ("batch size", "--batch-size"), ("dropout", "--dropout"))  # message → flag
MAX_LAYERS = 64  # --num-layers: far past any model here (the text model has 2), far short of a typo's 10,000


class _Stop:
    """Which signal asked the run to stop (``signum``), if any, and whether ``--out`` was written since."""

    signum: int | None = None
    saved: bool = False


@contextlib.contextmanager
def _stop_between_batches(trainer: Any) -> Iterator[_Stop]:
    """While training: the first Ctrl-C or SIGTERM asks ``trainer`` to stop after the mini-batch in progress (so the
    weights, Adam's state and the epoch's place agree when saved); a second one raises at once (KeyboardInterrupt,
    or ``Terminated``). Only the main thread may handle signals: elsewhere nothing changes."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, frame: object) -> None:
        if stop.signum is not None:
            raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        stop.signum = signum
        trainer.request_stop()
        trainer.pause()
        again = "press Ctrl-C again" if signum == signal.SIGINT else "send SIGTERM again"
        print(f"\nstopping after the mini-batch in progress, then saving ({again} to quit at once, saving nothing)",
              file=sys.stderr, flush=True)  # fmt: skip

    # a SIGINT the parent process ignores (a background job, nohup) stays ignored, as Python leaves it
    signums = [sig for sig in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(sig) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, handle) for sig in signums}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _place(trainer: Any) -> tuple[int, int]:
    """(epochs done, mini-batches done of the next): how far training has got."""
    partial = trainer.partial_epoch
    return trainer.epoch, partial[0] if partial else 0


def _batch_size(text: str | None) -> Any:
    if text is None:
        return "preset"
    if text.strip().lower() == "full":
        return None
    try:
        return int(text)
    except ValueError:
        raise ExitError(f"--batch-size must be a whole number or 'full', got {quote(text)}") from None


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    out = check_checkpoint_out(args.out, f"{args.task}.pt")
    if args.epochs is not None and args.epochs < 0:
        raise ExitError(f"--epochs must be ≥ 0, got {args.epochs}")
    task = get_task(args.task)
    if args.data is not None and args.data not in task.data_sources:
        names = [name for other in registered() if args.data in other.data_sources for name in other.training_names]
        raise ExitError(f"--data {args.data} is for the {' and '.join(names)} tasks; {args.task} trains on "
                        f"{', '.join(task.data_sources)}")  # fmt: skip
    for flag, value, lowest in (("--hidden-size", args.hidden_size, 1), ("--num-layers", args.num_layers, 1),
                                ("--proj-size", args.proj_size, 0)):  # fmt: skip
        if value is not None and value < lowest:  # named as the flag, not as the config's field
            raise ExitError(f"{flag} must be at least {lowest}, got {value:,}")
    if args.num_layers is not None and args.num_layers > MAX_LAYERS:  # 10,000 layers ran for hours in one mini-batch
        raise ExitError(f"--num-layers must be at most {MAX_LAYERS}, got {args.num_layers:,} (each layer reads the one "
                        "below, step by step: more layers cost more time at once, and deep LSTMs rarely train better "
                        "beyond a handful)")  # fmt: skip
    check_threads(args.threads)
    own = {o.name for o in task.training_options}
    given = {k.removeprefix("option_"): v for k, v in vars(args).items() if k.startswith("option_") and v is not None}
    foreign = sorted(k for k in given if k not in own)
    if foreign:
        flags = ", ".join("--" + k.replace("_", "-") for k in foreign)
        raise ExitError(f"{flags} {'does' if len(foreign) == 1 else 'do'} not apply to {args.task}")
    given_preset, args.preset = args.preset, args.preset or "fast"  # given or not: --resume keeps its own
    if args.preset not in PRESETS[args.task]:
        raise ExitError(f"--preset {args.preset}: {args.task} has the presets {', '.join(PRESETS[args.task])}")
    try:
        trainer = make_trainer(
            args.task, preset=args.preset, lr=args.lr, batch_size=_batch_size(args.batch_size),
            seed=0 if args.seed is None else args.seed, data=args.data, hidden_size=args.hidden_size,
            proj_size=args.proj_size or 0, num_layers=args.num_layers,
            bidirectional=args.bidirectional, device=device_named(args.device), resume=args.resume,
            num_threads=args.threads, options=given,
        )  # fmt: skip
    except ValueError as err:  # the engine's words ("learning rate …"), the flag said first
        named = flag_first(err, _FLAGS)
        if named is None:
            raise
        raise named from None
    if args.resume is not None:
        _check_resumed_sizes(args, trainer, given_preset)
    for note in trainer.notes:
        print(f"note: {note}", file=sys.stderr)
    epochs = _epochs_to_run(args, trainer)
    with _stop_between_batches(trainer) as stop:
        try:
            return _train_and_save(args, argv, task, trainer, epochs, out, stop)
        except KeyboardInterrupt as err:  # a second Ctrl-C or SIGTERM (cli.Terminated): out at once
            how, code = stopped_how(err)
            written = f"{out} was written before it" if stop.saved else f"{out} was not written"
            print(f"error: {how} twice: stopped at once; {written}", file=sys.stderr)
            return code


def _train_and_save(
    args: argparse.Namespace, argv: Sequence[str], task: Any, trainer: Any, epochs: int, out: Any, stop: _Stop
) -> int:
    """Train ``epochs`` epochs (until ``stop`` is asked), save ``out``, print the summary; the exit status."""
    from tqdm import tqdm

    started = time.perf_counter()
    epochs_run = 0
    place = _place(trainer)  # where the run starts: did it get anywhere?
    loop = trainer.loop
    if loop is not None:
        done, total, unit = loop.progress()
        bar = tqdm(total=total, initial=done, desc=args.task, unit=unit, unit_scale=unit == "char", file=sys.stderr,
                   disable=args.quiet, leave=False)  # fmt: skip
    else:
        bar = tqdm(total=epochs, desc=args.task, unit="epoch", file=sys.stderr, disable=args.quiet, leave=False)
    try:
        for metrics in trainer.run(epochs):
            epochs_run += 1
            if loop is not None:
                bar.n = min(loop.progress()[0], bar.total or 0)
                bar.refresh()
            else:
                bar.update(1)
            bar.set_postfix(_postfix(metrics, task.progress_keys), refresh=False)
            if args.jsonl:
                print_json(metrics)
    finally:
        bar.close()
    seconds = time.perf_counter() - started

    summary: dict[str, Any] = {"task": args.task, "model": trainer.model.config.label()}
    summary.update(trainer.last)
    summary.update(
        {
            "epochs_run": epochs_run,
            "data": trainer.data.source,
            **({"options": trainer.options} if trainer.options else {}),
            "preset": trainer.preset or args.preset,  # a resumed run: the recipe it continues
            "seed": trainer.seed,
            "proj_size": trainer.model.config.proj_size,
            "parameters": count_parameters(trainer.model),
            "train_seconds": round(seconds, 3),
            "out": str(out),
        }
    )
    if trainer.history and trainer.history[-1].get("diverged"):
        summary["diverged"] = True
    partial = trainer.partial_epoch
    if stop.signum is not None:
        summary["interrupted"] = True
    if partial is not None:
        summary["partial_epoch"] = {"epoch": trainer.epoch + 1, "batches_done": partial[0], "batches": partial[1]}
    terminated = stop.signum == signal.SIGTERM
    code = (143 if terminated else 130) if stop.signum is not None else 0
    how = "terminated" if terminated else "interrupted"
    if summary.get("diverged"):  # NaN or inf: nothing worth keeping, and an existing --out stays as it was
        summary["out"] = None
        print_json(summary)
        print(f"error: training diverged at epoch {trainer.epoch:,} (loss {summary.get('loss')}); {out} was not "
              "written — lower --lr (or --resume an earlier checkpoint)", file=sys.stderr)  # fmt: skip
        return code or 3
    if code and _place(trainer) == place:  # stopped before a mini-batch: --out is not replaced by nothing
        summary["out"] = None
        print_json(summary)
        print(f"error: {how} before the first mini-batch ended; {out} was not written", file=sys.stderr)
        return code

    def save() -> None:
        meta = {
            "command": "python -m lstm_viz " + shlex.join(argv),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "final": {k: v for k, v in summary.items() if isinstance(v, (int, float, str)) and v is not None},
        }
        trainer.save(out, meta=meta, optimizer=not args.without_optimizer)
        stop.saved = True

    if code:  # stopped: saved before the final evaluation, which can take a while (a second signal keeps the file)
        save()
        print(f"saved {out}; evaluating the final weights (Ctrl-C again skips this and keeps the file)",
              file=sys.stderr, flush=True)  # fmt: skip
    summary.update(trainer.evaluate())  # the final weights on both splits (history's train_* are running metrics)
    summary.pop("seconds", None)
    summary.update(task.final_report(trainer.model))
    save()  # (again, when stopped: now with the evaluation in its meta)
    print_json(summary)
    worse = _loss_grew(trainer.history)
    if worse:
        print(f"note: {worse}; the learning rate may be too high — try a smaller --lr", file=sys.stderr)
    if not code and _place(trainer) == place:  # --epochs 0 (or a budget already spent): said, not silent
        what = f"the weights of {args.resume}" if args.resume is not None else "the initial weights"
        why = f"--epochs {args.epochs}" if args.epochs is not None else "its budget was already spent"
        seed = "" if args.resume is not None else f" (seed {trainer.seed})"
        print(f"note: nothing was trained ({why}); {out} holds {what}{seed}", file=sys.stderr)
    if code and partial is not None:
        print(f"error: {how} in epoch {trainer.epoch + 1:,}, after {partial[0]:,} of its {partial[1]:,} mini-batches; "
              f"saved to {out} with its place in that epoch — --resume {shlex.quote(str(out))} finishes it as if it "
              "had not stopped",
              file=sys.stderr)  # fmt: skip
    elif code:
        print(f"error: {how} after epoch {trainer.epoch:,}; saved to {out}; continue with --resume "
              f"{shlex.quote(str(out))}",
              file=sys.stderr)  # fmt: skip
    return code
