"""The research script: ``python -m lstm_viz.tasks.charlm.train --hidden 384 --layers 2 --minutes 58 --out ck.pt``.

Encodes the standard library (or reads a saved corpus), trains a CharLM with :mod:`lstm_viz.tasks.charlm.tbptt`,
scores its units and writes one JSON line per event to stdout; ``--out`` saves a research checkpoint that ``python
-m lstm_viz convert`` turns into an lstm-viz checkpoint. The loop itself lives in ``tbptt`` (imported by the
package), so that running this module as ``__main__`` does not run a module the package already imported.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from lstm_viz.paths import write_atomically
from lstm_viz.tasks.charlm.model import CharLM
from lstm_viz.tasks.charlm.tbptt import LN2, TrainConfig, _lr_factor, evaluate_bpc, make_streams, train_charlm

__all__ = ["LN2", "TrainConfig", "_lr_factor", "evaluate_bpc", "main", "make_streams", "train_charlm"]


def main(argv: list[str] | None = None) -> None:
    """Experiments: ``python -m lstm_viz.tasks.charlm.train --hidden 512 --layers 2 --minutes 60 --out ck.pt``."""
    import argparse
    import json
    import sys

    from lstm_viz.tasks.charlm.data import read_research_corpus, research_corpus, research_labels
    from lstm_viz.tasks.charlm.evaluate import unit_report
    from lstm_viz.tasks.charlm.model import CharLMConfig

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--embed", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--proj", type=int, default=0)
    parser.add_argument("--forget-bias", type=float, default=None)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--final-lr-ratio", type=float, default=0.05)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--wd", type=float, default=0.0)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--activation-l1", type=float, default=0.0, help="L1 penalty on every layer's h (0: none)")
    parser.add_argument("--minutes", type=float, default=None)
    parser.add_argument("--max-chars", type=float, default=None)
    parser.add_argument("--eval-every", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--corpus", help="an .npz from --save-corpus (else the running stdlib)")
    parser.add_argument("--save-corpus", help="write the encoded corpus, labels and manifest here and stop")
    parser.add_argument("--select-chars", type=int, default=150_000)
    parser.add_argument("--val-chars", type=int, default=0, help="final bpc on this many val chars (0: all)")
    parser.add_argument("--report-chars", type=int, default=0, help="score units on this many val chars (0: all)")
    parser.add_argument("--out", help="checkpoint path")
    args = parser.parse_args(argv)
    if args.out:  # checked before an hour of training, not after it (a missing folder is made)
        out = Path(args.out)
        if args.out.endswith(("/", os.sep)) or out.is_dir():
            parser.error(f"--out {args.out} is a folder; give a file name such as {out / 'charlm_research.pt'}")
        if out.suffix != ".pt":
            parser.error(f"--out must end in .pt (got {out.name!r}), e.g. --out charlm_research.pt")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            parser.error(f"cannot create the folder {out.parent} for --out: {err.strerror or err}")
        if not os.access(out.parent, os.W_OK):
            parser.error(f"cannot write in {out.parent} for --out; choose another --out")
    if args.save_corpus:  # checked before the stdlib is encoded (its folder is made: .charlm_cache/ in the README)
        target = Path(args.save_corpus)
        if args.save_corpus.endswith(("/", os.sep)) or target.is_dir() or target.suffix != ".npz":
            parser.error(f"--save-corpus takes a file name ending in .npz, e.g. .charlm_cache/corpus.npz (got "
                         f"{args.save_corpus!r})")  # fmt: skip
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            parser.error(f"cannot create the folder {target.parent} for --save-corpus: {err.strerror or err}")
    if args.corpus and not Path(args.corpus).is_file():
        parser.error(f"--corpus {args.corpus}: no such file; write one first with --save-corpus {args.corpus}")
    torch.set_num_threads(args.threads)

    def emit(record: dict) -> None:
        print(json.dumps(record), flush=True)

    if args.corpus:
        try:
            manifest, corpus = read_research_corpus(args.corpus)
        except ValueError as err:
            parser.error(f"--corpus {err}")
    else:
        manifest, corpus = research_corpus(args.select_chars)
        if args.save_corpus:
            np.savez_compressed(args.save_corpus, manifest=json.dumps(manifest), **corpus)
            emit({"kind": "corpus", "path": args.save_corpus, **manifest["counts"]})
            return
    labels = research_labels(corpus)
    train_ids, val_ids, select_ids = (corpus[k].astype(np.int64) for k in ("train_ids", "val_ids", "select_ids"))

    config = CharLMConfig(
        embed_size=args.embed,
        hidden_size=args.hidden,
        num_layers=args.layers,
        proj_size=args.proj,
        forget_bias=args.forget_bias,
    )
    recipe = TrainConfig(
        batch_size=args.batch,
        seq_len=args.seq,
        lr=args.lr,
        final_lr_ratio=args.final_lr_ratio,
        warmup_steps=args.warmup,
        weight_decay=args.wd,
        clip_norm=args.clip,
        activation_l1=args.activation_l1,
        max_chars=int(args.max_chars) if args.max_chars else None,
        max_seconds=args.minutes * 60 if args.minutes else None,
        eval_every=args.eval_every,
        seed=args.seed,
    )
    torch.manual_seed(args.seed)
    model = CharLM(config).to(args.device)
    emit(
        {
            "kind": "start",
            "params": model.num_parameters(),
            "config": config.to_dict(),
            "recipe": recipe.to_dict(),
            "threads": torch.get_num_threads(),
            "device": args.device,
            "train_chars": len(train_ids),
            "val_chars": len(val_ids),
            "command": " ".join(sys.argv),
        }
    )
    metrics: dict = {}
    for metrics in train_charlm(model, train_ids, recipe, val_ids[: args.val_chars] if args.val_chars else val_ids):
        emit(metrics)
    report_ids = val_ids[: args.report_chars] if args.report_chars else val_ids
    report_labels = {k: v[: len(report_ids)] for k, v in labels["val"].items()}
    units = unit_report(model, (select_ids, labels["select"]), (report_ids, report_labels))
    emit({"kind": "units", **{f: {k: v for k, v in u.items() if k != "screen_top"} for f, u in units.items()}})
    if args.out:  # written whole or not at all: a file interrupted mid-write would be a corrupt checkpoint
        buffer = io.BytesIO()
        torch.save(
            {
                "format": "lstm-viz/charlm-checkpoint-v0",
                "config": config.to_dict(),
                "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
                "manifest": manifest,
                "recipe": recipe.to_dict(),
                "command": "python -m lstm_viz.tasks.charlm.train " + " ".join(sys.argv[1:]),
                "metrics": {"train": metrics, "units": units},
                "torch_version": torch.__version__,
            },
            buffer,
        )
        write_atomically(args.out, buffer.getvalue())
        emit({"kind": "saved", "path": args.out})


if __name__ == "__main__":
    main()
