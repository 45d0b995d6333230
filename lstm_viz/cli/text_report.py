"""``python -m lstm_viz text-report MODEL [--corpus NPZ] [--threads N] [--json]``: the numbers models/README.md gives
for a text model.

Bits per character over all validation files of the running standard library (read as 16 parallel streams with the
state carried, ``evaluate_bpc``), and for each goal feature of issue 12 (in_string, in_comment, bracket_depth,
column) and for in_long_string (no goal: the docstring cell, which a model may keep apart from the short strings')
the unit picked among every unit of every layer and tensor on whole training files (about 150,000 characters) and
its score on the validation text (``charlm.evaluate.unit_report``). ``--corpus`` reads the encoded stdlib from an
``.npz`` that ``python -m lstm_viz.tasks.charlm.train --save-corpus`` wrote, instead of encoding it again (about
10 s). With ``--json`` the last stdout line is ``{"model": PATH, "val_bpc": …, "val_chars": N, "select_chars": N,
"units": {FEATURE: {"unit": "layer1.fwd.c[190]", "score": "AUROC"|"|r|", "direction": …, "select_score": …,
"report_score": …, "sign_kept": …, "goal": …, "reached": …, "best_on_report": …}, …}}`` (``goal`` and ``reached``
null for in_long_string).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lstm_viz.cli.common import ExitError, add_threads, device_named, print_json, use_threads, whole_model_needed
from lstm_viz.cli.textfile import read_text_file, require_text_model
from lstm_viz.parsing import InputError
from lstm_viz.tasks.charlm.data import encode, read_research_corpus, research_corpus, research_labels
from lstm_viz.tasks.charlm.evaluate import REPORTED, unit_report
from lstm_viz.tasks.charlm.loop import research_view
from lstm_viz.tasks.charlm.tbptt import evaluate_bpc
from lstm_viz.text.finder import text_labels
from lstm_viz.training.checkpoints import ModuleChoice, load_checkpoint

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser(
        "text-report", help="a text model's bits per character and best string, comment, bracket and column units",
        description="The numbers models/README.md gives for a text model: bits per character over all validation "
        "files and, for each goal feature, the unit picked on training text and its score on the validation text.",
    )  # fmt: skip
    report.add_argument("checkpoint", help="a text model's checkpoint, e.g. models/charlm_python.pt")
    report.add_argument("--corpus", help="an .npz from python -m lstm_viz.tasks.charlm.train --save-corpus (default: "
                        "the running stdlib, encoded and labelled first, about 10 s)")  # fmt: skip
    report.add_argument("--text-file", metavar="FILE", help="also score the picked units on this Python file (up to "
                        "1 MB; e.g. source from outside the standard library, text the model never saw)")  # fmt: skip
    report.add_argument("--json", action="store_true", help="one JSON object on the last stdout line")
    add_threads(report)
    report.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    use_threads(args.threads)
    if args.corpus and not Path(args.corpus).is_file():
        raise ExitError(f"--corpus {args.corpus}: no such file; write one with python -m lstm_viz.tasks.charlm.train "
                        f"--save-corpus {args.corpus}")  # fmt: skip
    try:
        checkpoint = load_checkpoint(args.checkpoint, device=device_named(None))
    except ModuleChoice as err:
        raise ExitError(whole_model_needed(args.checkpoint, "text-report", err.options, "a text model")) from None
    require_text_model(checkpoint.model, args.checkpoint, "text-report")
    also = None
    if args.text_file is not None:  # read and labelled before the minute of work, so a bad file fails at once
        text = read_text_file(args.text_file)
        try:
            also = encode(text).astype(np.int64), text_labels(text, advice="Give a whole Python file.")
        except InputError as err:
            raise ExitError(f"--text-file {args.text_file}: {err}") from None
    try:
        manifest, corpus = read_research_corpus(args.corpus) if args.corpus else research_corpus()
    except ValueError as err:
        raise ExitError(f"--corpus {err}") from None
    trained_on = (checkpoint.meta.get("manifest") or {}).get("digest")
    if trained_on and trained_on != manifest.get("digest"):
        print(f"note: {args.checkpoint} was trained on another standard library (manifest {trained_on}, this one "
              f"{manifest.get('digest')}): these are its numbers on this one", file=sys.stderr)  # fmt: skip
    labels = research_labels(corpus)
    val_ids, select_ids = (corpus[k].astype(np.int64) for k in ("val_ids", "select_ids"))
    model = research_view(checkpoint.model).eval()
    bpc = evaluate_bpc(model, val_ids)
    reported = {f: goal for f, goal in REPORTED.items() if f in labels["select"] and f in labels["val"]}
    for feature in REPORTED.keys() - reported.keys():  # a corpus written by an older lstm-viz: what it has
        print(f"note: --corpus {args.corpus} has no {feature} labels (written before lstm-viz had them), so the report "
              f"leaves {feature} out; write the file again with python -m lstm_viz.tasks.charlm.train --save-corpus "
              f"{args.corpus}", file=sys.stderr)  # fmt: skip
    units = unit_report(model, (select_ids, labels["select"]), (val_ids, labels["val"]), reported, also=also)
    report = {f: {k: v for k, v in u.items() if k != "screen_top"} for f, u in units.items()}
    also_bpc = evaluate_bpc(model, also[0], batch_size=1) if also is not None else None
    if args.json:
        extra = {} if also is None else {"text_file": args.text_file, "text_file_chars": len(also[0]),
                                         "text_file_bpc": also_bpc}  # fmt: skip
        print_json({"model": args.checkpoint, "val_bpc": bpc, "val_chars": len(val_ids),
                    "select_chars": len(select_ids), **extra, "units": report})  # fmt: skip
        return 0
    print(f"{args.checkpoint}: {bpc:.3f} bits per character over {len(val_ids):,} validation characters")
    for feature, u in units.items():
        print(f"  {feature:14s} {u['score']:5s} {u['report_score']:.3f} for {u['unit']} ({u['direction']}; "
              f"{u['select_score']:.3f} on the {len(select_ids):,} training characters it was picked on), best "
              f"candidate on validation {u['best_on_report']:.3f}; {_goal_words(u['goal'], u['reached'])}")  # fmt: skip
        for other, score in u.get("report_score_without", {}).items():
            print(f"  {'':14s} {score:.3f} for that unit with the {other} characters left out")
    if also is not None:
        print(f"on {args.text_file} ({len(also[0]):,} characters, {also_bpc:.3f} bits per character), the same units:")
        for feature, u in units.items():
            if not np.isfinite(u["also_score"]):
                print(f"  {feature:14s} no score: {feature} is the same on every character of that file")
                continue
            flipped = "" if u.get("also_sign_kept", True) else " (with the opposite sign)"
            met = None if u["goal"] is None else u["also_score"] >= u["goal"] and not flipped
            print(f"  {feature:14s} {u['score']:5s} {u['also_score']:.3f} for {u['unit']}{flipped}, best candidate "
                  f"there {u['also_best']:.3f}; {_goal_words(u['goal'], met)}")  # fmt: skip
    return 0


def _goal_words(goal: float | None, reached: bool | None) -> str:
    if goal is None:
        return "no goal (the triple-quoted part of in_string)"
    return f"goal {goal}: {'met' if reached else 'not met'}"
