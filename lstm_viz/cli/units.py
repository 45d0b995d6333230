"""``python -m lstm_viz units MODEL --text-file F --feature NAME [--top K] [--json]``: which units of a text model
track a built-in feature of the Python source in F.

Every unit of every layer, direction and tensor (f, i, g, o, c, h) is ranked on the text of F, read as one pass
from a zero state: binary features (in_string, in_long_string, in_comment, keyword, number, line_start) by AUROC,
numeric ones (bracket_depth, indent, column) by |Pearson r|. ``score`` is the AUROC in the unit's better direction,
max(AUROC, 1 − AUROC), or |r|; ``sign`` is +1 when the unit is higher inside the feature (rises with it), −1 when
lower; ``value`` is the raw AUROC or r. The scores reported are exact: r straight from the ranking pass (its moments
are merged exactly across chunks); AUROC from a second pass over the best candidates of the binned ranking.
With ``--json`` the last stdout line is ``{"feature": NAME, "metric": "auroc"|"abs_pearson", "units": [{"name":
"layer0.fwd.c", "unit": 66, "score": 0.97, "sign": 1, "value": 0.97}, …], "chars": N, "seconds": s}``, best first.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from lstm_viz.cli.common import TEXT_MODEL, ExitError, add_threads, load_model, print_json, use_threads
from lstm_viz.cli.textfile import read_text_file, require_text_model
from lstm_viz.parsing import InputError
from lstm_viz.tasks.charlm.data import encode
from lstm_viz.text.finder import FEATURES, exact_best, metric_of, rank_ids, text_labels, unit_values

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    units = sub.add_parser("units", help="rank a text model's units by how well they track a feature of the text",
                           description="Rank every unit against one built-in feature of a Python file.")  # fmt: skip
    units.add_argument("checkpoint", help="a text model's checkpoint, e.g. models/charlm_python.pt")
    units.add_argument("--text-file", required=True, help="a Python source file (UTF-8, up to 1 MB)")
    units.add_argument("--feature", required=True, choices=FEATURES, metavar="NAME",
                       help=f"one of: {', '.join(FEATURES)}")  # fmt: skip
    units.add_argument("--top", type=int, default=10, help="how many units to list (default 10; 0 = all, as ablate)")
    units.add_argument("--json", action="store_true", help="one JSON object on the last stdout line")
    add_threads(units)
    units.set_defaults(func=run)


FEW_CHARS = 50  # fewer characters inside (or outside) a binary feature, or in the file for a numeric one: "few"


def _few_examples(values, metric: str) -> str:
    """What is too little to rank units by, in words, or "" when there is enough."""
    n = len(values)
    if metric == "auroc":
        inside = int(values.sum())
        if min(inside, n - inside) < FEW_CHARS:
            return f"only {inside:,} of the {n:,} characters are inside the feature and {n - inside:,} outside"
        return ""
    return f"the file has only {n:,} characters" if n < 4 * FEW_CHARS else ""


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    use_threads(args.threads)
    if not 0 <= args.top <= 10_000:
        raise ExitError(f"--top must be from 1 to 10,000, or 0 for every unit; got {args.top}")
    started = time.perf_counter()
    model = load_model(args.checkpoint, command="units", wanted=TEXT_MODEL)
    require_text_model(model, args.checkpoint, "units")
    text = read_text_file(args.text_file)
    try:
        labels = text_labels(text, advice="Give a whole Python file (a file cut in the middle of a string or a "
                             "bracket does not tokenize); `record --text-file` records any text")  # fmt: skip
    except InputError as err:
        raise ExitError(f"--text-file {args.text_file}: {err}") from None
    feature = args.feature
    metric = metric_of(feature)
    if labels[feature].min() == labels[feature].max():
        raise ExitError(f"--feature {feature}: it is the same at every character of {args.text_file} "
                        "(nothing to rank units by); choose another feature or a longer file")  # fmt: skip
    ids = encode(text)
    unknown = int((ids == 0).sum())
    if unknown:  # said, as generate and the app say it; a CRLF file's \r are the usual ones
        crlf = text.count("\r")
        why = (f" — {crlf:,} of them the \\r of CRLF line ends, which the model never saw in training (the app reads "
               "CRLF as one newline; convert the file, e.g. with dos2unix, to rank as it does)") if crlf else ""
        print(f"note: {unknown:,} character{'s' if unknown != 1 else ''} of {args.text_file} outside the model's "
              f"vocabulary (printable ASCII, newline, tab) read as <unk>{why}", file=sys.stderr)  # fmt: skip
    few = _few_examples(labels[feature], metric)
    if few:  # said, not refused: a short file is still worth a look
        print(f"note: {few}; with so few, many units score alike and the ranking says little — give a longer file",
              file=sys.stderr)  # fmt: skip
    ranking = rank_ids(model.eval(), ids, labels, features=[feature])
    top = args.top or len(ranking.table)  # 0: every unit
    if metric == "abs_pearson":  # the ranking's r is already exact (moments merged across chunks): no second pass
        best = ranking.best(feature, top)
    else:  # its AUROC is binned: record the best candidates again and score them exactly
        candidates = ranking.best(feature, max(4 * top, 40))
        units = [(row.name, int(row.unit)) for row in candidates.itertuples()]
        values = unit_values(model, ids, units)
        best = exact_best(ranking, values, units, labels[feature], feature).head(top)
    seconds = time.perf_counter() - started
    if args.json:
        rows = [{"name": r.name, "unit": int(r.unit), "score": round(float(r.score), 6), "sign": int(r.sign),
                 "value": round(float(r.value), 6)} for r in best.itertuples()]  # fmt: skip
        print_json({"feature": feature, "metric": metric, "units": rows, "chars": len(ids),
                    "seconds": round(seconds, 3)})  # fmt: skip
        return 0
    what = "AUROC (better direction)" if metric == "auroc" else "|Pearson r|"
    print(f"{feature} over {len(ids):,} characters of {args.text_file}: {what}, best first ({seconds:.1f} s)")
    for r in best.itertuples():
        side = ("higher" if r.sign > 0 else "lower") + (" inside" if metric == "auroc" else " as it rises")
        print(f"{r.name:>14} unit {int(r.unit):>4}  {r.score:.4f}  ({side})")
    return 0
