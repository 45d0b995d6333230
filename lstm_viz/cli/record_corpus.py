"""``python -m lstm_viz record-corpus MODEL (--stdlib | --text-file F … | --text-dir D) --out DIR``: record the
states of a whole corpus into Parquet shards (progress with ETA on stderr; run it again to resume).

The last stdout line is one JSON object: out, files, chars, shards, shards_written, shards_reused, names, dtype,
bytes, seconds, chars_per_second, lane_use, complete, chars_recorded_now, skipped (as docs/corpus.md lists them).
``python -m lstm_viz top-contexts DIR …`` and ``match DIR …`` query the result.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lstm_viz.cli.common import ExitError, check_threads, check_utf8_out, layer_number, print_json, stopped_how
from lstm_viz.corpus import record_corpus, stdlib_files, text_dir_files, text_files
from lstm_viz.corpus.schema import read_manifest, shards_dir
from lstm_viz.parsing import quote

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record-corpus", help="record c and h over a whole corpus into Parquet shards",
                       description="Record a corpus's states into zstd Parquet shards (resumable).")  # fmt: skip
    p.add_argument("model", help="a character-model checkpoint (.pt)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--stdlib", action="store_true", help="the running Python's standard library (.py files)")
    source.add_argument("--text-file", nargs="+", action="extend", metavar="F",
                        help="one or more UTF-8 text files (MODEL goes before --text-file, or end the list with --)")
    source.add_argument("--text-dir", metavar="D", help="every text file under a folder (see --glob)")
    p.add_argument("--glob", default="*", help="with --text-dir: file-name pattern, e.g. '*.py' (default: all)")
    p.add_argument("--max-chars", type=int, help="record at most this many characters (whole files, the last cut)")
    p.add_argument(
        "--max-file-chars",
        type=int,
        metavar="N",
        help="leave out files over N characters (a file is one sequential stream; see docs/corpus.md)",
    )
    p.add_argument("--tensors", default="c,h", help="which tensors, e.g. c,h (default) or f,i,g,o,c,h")
    p.add_argument("--layers", default="all", help="which layers, e.g. 0 or 0,1 (default: all)")
    p.add_argument("--dtype", choices=("float16", "float32"), default="float16",
                   help="stored precision (default float16: half the disk, values within float16's rounding; "
                        "float32 for states beyond ±65,504)")  # fmt: skip
    p.add_argument(
        "--on-thresholds",
        default="0.3",
        metavar="T,…",
        help="thresholds whose on-bits are stored so that match is fast there (default 0.3; 'none')",
    )
    p.add_argument("--batch", type=int, default=16, help="files read side by side (default 16)")
    p.add_argument("--chunk-len", type=int, default=512, help="characters per lane and pass (default 512)")
    p.add_argument("--chunks-per-shard", type=int, default=8, help="row groups (chunks) per shard (default 8)")
    p.add_argument("--threads", type=int, help="PyTorch CPU threads (default: PyTorch's; 1 on a busy machine)")
    p.add_argument("--out", required=True, metavar="DIR", help="the corpus folder (new, empty, or to resume)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _layers(text: str) -> list[int] | None:
    if text.strip() == "all":
        return None
    try:
        return [layer_number(k.strip()) for k in text.split(",") if k.strip()]
    except ValueError:
        raise ExitError(f"--layers must be 'all' or numbers like 0,1, got {quote(text)}") from None


def _thresholds(text: str) -> list[float]:
    if text.strip().lower() == "none":
        return []
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ExitError(f"--on-thresholds must be numbers like 0.3,0.5 or 'none', got {quote(text)}") from None
    if not all(math.isfinite(v) for v in values):
        raise ExitError(f"--on-thresholds must be finite numbers, got {quote(text)}")
    if any(abs(v) > FLOAT32_MAX for v in values):  # compared with float32 values: past its range they mean nothing
        raise ExitError(f"--on-thresholds must lie within float32's range (±{FLOAT32_MAX:.1e}), got {quote(text)}")
    return values


FLOAT32_MAX = float(np.finfo(np.float32).max)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from tqdm import tqdm

    if not args.out.strip():  # Path("") is the current folder
        raise ExitError("--out is empty; give a folder name such as corpus/")
    check_utf8_out(args.out, "corpus/", kind="folder")  # the shards' paths go to Arrow and DuckDB
    check_threads(args.threads)  # 1..256, as every other command
    if args.glob != "*" and not args.text_dir:
        raise ExitError(f"--glob {args.glob!r} chooses files under --text-dir; with --stdlib or --text-file give the "
                        "files themselves (or --text-dir FOLDER --glob PATTERN)")  # fmt: skip
    for flag, value in (("--max-chars", args.max_chars), ("--max-file-chars", args.max_file_chars)):
        if value is not None and value < 1:
            raise ExitError(f"{flag} must be at least 1, got {value:,}")
    if args.stdlib:
        files, skipped = stdlib_files(args.max_chars, max_file_chars=args.max_file_chars)
        source = {"kind": "stdlib"}
    elif args.text_file:
        files, skipped = text_files(args.text_file, args.max_chars, args.max_file_chars)
        source = {"kind": "text-file", "paths": list(args.text_file)}
    else:
        files, skipped = text_dir_files(args.text_dir, args.glob, args.max_chars, args.max_file_chars)
        source = {"kind": "text-dir", "path": args.text_dir, "glob": args.glob}
    source.update(max_chars=args.max_chars, max_file_chars=args.max_file_chars)
    bars = []  # the progress bar, made once the model and the folder are checked (so errors stay one line)

    def on_start(total: int, done: int) -> None:
        bars.append(tqdm(total=total, initial=done, desc="recording", unit="char", unit_scale=True,
                         file=sys.stderr, disable=args.quiet, leave=False))  # fmt: skip

    try:
        summary = record_corpus(
            args.model, files, args.out, source=source, skipped=skipped,
            tensors=[t.strip() for t in args.tensors.split(",") if t.strip()], layers=_layers(args.layers),
            dtype=args.dtype, on_thresholds=_thresholds(args.on_thresholds), batch=args.batch,
            chunk_len=args.chunk_len, chunks_per_shard=args.chunks_per_shard,
            threads=args.threads, progress=lambda chars: bars[0].update(chars), on_start=on_start,
        )  # fmt: skip
    except KeyboardInterrupt as err:
        how, code = stopped_how(err)
        if not bars:  # before the recording began: nothing to keep
            raise
        for bar in bars:
            bar.close()
        bars.clear()
        manifest = read_manifest(Path(args.out))
        kept = len(list(shards_dir(Path(args.out)).glob("*.parquet")))
        raise ExitError(f"{how}; {kept:,} of {manifest['num_shards']:,} shards are kept in {args.out}: the same "
                        "command goes on from there", code=code) from None  # fmt: skip
    finally:
        for bar in bars:
            bar.close()
    if skipped:  # said, not only stored in manifest.json: a folder of Latin-1 files is otherwise a silent gap
        shown = "; ".join(f"{name} ({why})" for name, why in list(skipped.items())[:5])
        more = f"; and {len(skipped) - 5:,} more" if len(skipped) > 5 else ""
        print(f"note: {len(skipped):,} file{'s' if len(skipped) != 1 else ''} skipped: {shown}{more} (all listed in "
              f"{Path(args.out) / 'manifest.json'})", file=sys.stderr)  # fmt: skip
    print_json({**summary, "skipped": len(skipped)})
    return 0
