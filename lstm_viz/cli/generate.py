"""``python -m lstm_viz generate MODEL --prompt "def " --chars 400 --temperature 0.8 [--seed 0] [--json]``: text
written by a character model, one sampled character at a time (temperature 0: always the likeliest).

Prints the prompt and what the model writes after it, as it is written (Ctrl-C stops it and keeps what was
written); with ``--json`` one line ``{"prompt", "text", "chars", "temperature", "seed"}`` at the end (``text`` is
only the new part), with a progress bar on stderr for long texts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lstm_viz.cli.common import (
    TEXT_MODEL,
    ExitError,
    add_threads,
    load_model,
    print_json,
    seed_arg,
    stopped_how,
    use_threads,
)
from lstm_viz.cli.textfile import require_text_model
from lstm_viz.tasks.charlm.data import encode
from lstm_viz.tasks.charlm.task import MAX_GENERATED, MAX_TEMPERATURE, generate_stream

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    gen = sub.add_parser("generate", help="write text with a character model", description="Generate text.")
    gen.add_argument("checkpoint", help="a text model's checkpoint, e.g. models/charlm_python.pt")
    gen.add_argument("--prompt", default="", help="text to start from (default: a new line)")
    gen.add_argument("--chars", type=int, default=400, help="characters to write, 0 to 100,000 (default 400)")
    gen.add_argument("--temperature", type=float, default=0.8,
                     help="sampling temperature, 0 to 10 (default 0.8; 0 = always the likeliest character)")
    gen.add_argument("--seed", type=seed_arg, default=0, help="random seed of the sampling (default 0)")
    gen.add_argument("--json", action="store_true", help="one JSON object instead of the text")
    add_threads(gen)
    gen.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    use_threads(args.threads)
    if not 0 <= args.chars <= MAX_GENERATED:  # named as the flags (generate() checks the same bounds)
        raise ExitError(f"--chars must be from 0 to {MAX_GENERATED:,}, got {args.chars:,}")
    if not 0 <= args.temperature <= MAX_TEMPERATURE:  # NaN too
        raise ExitError(f"--temperature must be from 0 to {MAX_TEMPERATURE:g} (0: always the likeliest character), "
                        f"got {args.temperature}")  # fmt: skip
    model = load_model(args.checkpoint, command="generate", wanted=TEXT_MODEL)
    require_text_model(model, args.checkpoint, "generate")
    unknown = int((encode(args.prompt) == 0).sum())
    if unknown:  # said, as the app says it: the model reads them as one character it never saw in training
        print(f"note: {unknown:,} character{'s' if unknown != 1 else ''} of --prompt outside the model's vocabulary "
              "(printable ASCII, newline, tab) read as <unk>", file=sys.stderr)  # fmt: skip
    stream = generate_stream(model, args.prompt, args.chars, args.temperature, args.seed)
    written: list[str] = []
    if args.json:  # one object at the end; meanwhile a progress bar on stderr
        from tqdm import tqdm

        try:
            for ch in tqdm(stream, total=args.chars, desc="generate", unit="char", file=sys.stderr, leave=False,
                           disable=args.chars < 2_000):  # fmt: skip
                written.append(ch)
        except KeyboardInterrupt as err:
            how, code = stopped_how(err)
            raise ExitError(f"{how} after {len(written):,} of {args.chars:,} characters; --json prints only a "
                            "finished text (without it the text is written as it comes)", code=code) from None
        text = "".join(written)
        # the prompt the model read: without --prompt a new line (prompt + text is then the model's whole context)
        print_json({"prompt": args.prompt or "\n", "text": text, "chars": len(text), "temperature": args.temperature,
                    "seed": args.seed})  # fmt: skip
        return 0
    out = sys.stdout
    out.write(args.prompt)
    try:
        for ch in stream:  # the text as it is written: a line at a time, or every 64 characters
            written.append(ch)
            out.write(ch)
            if ch == "\n" or len(written) % 64 == 0:
                out.flush()
    except KeyboardInterrupt as err:
        out.write("\n")
        out.flush()
        how, code = stopped_how(err)
        raise ExitError(f"{how} after {len(written):,} of {args.chars:,} characters (written above)",
                        code=code) from None  # fmt: skip
    out.write("" if (written or [args.prompt])[-1].endswith("\n") else "\n")
    out.flush()
    return 0
