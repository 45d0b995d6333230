"""``python -m lstm_viz match DIR --units layer0.fwd.c:66,layer0.fwd.c:12 [--threshold 0.3] [--min-length 3]
[--k 20] [--max-others N] [--json]``: LSTMVis's match over a whole recorded corpus.

A unit is on where its value is > threshold. A match is a maximal span of one file where every selected unit is
on, at least ``--min-length`` steps long; its ``others`` are the other units of the same tensors that are on at
every step of it. Spans are ranked by others (fewest first: the selected units alone), then length (longest
first), then position; ``--max-others N`` keeps only spans with at most N others. With ``--json`` the last stdout
line is ``{"matches": [{"file", "start", "end", "length", "others", "context"}, …], "total": spans found, …}``
(``end`` exclusive; ``context``: 40 characters before, the span — shortened in its middle past 200 characters —,
40 after).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lstm_viz.cli.common import print_json
from lstm_viz.corpus import marked, open_corpus, parse_units

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("match", help="where exactly a set of units is on together in a recorded corpus",
                       description="LSTMVis's match across a recorded corpus.")  # fmt: skip
    p.add_argument("corpus", metavar="DIR", help="a folder written by record-corpus")
    p.add_argument("--units", required=True, help="NAME:UNIT,… e.g. layer0.fwd.c:66,layer0.fwd.c:12")
    p.add_argument("--threshold", type=float, default=0.3,
                   help="on = value > threshold (default 0.3; a negative one as --threshold=-0.2)")
    p.add_argument("--min-length", type=int, default=3, help="shortest span, in steps (default 3)")
    p.add_argument("--k", type=int, default=20, help="how many spans (default 20)")
    p.add_argument("--max-others", type=int, help="keep spans with at most this many other units on throughout")
    p.add_argument("--json", action="store_true", help='last stdout line: {"matches": [...], ...}')
    p.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    units = parse_units(args.units)
    corpus = open_corpus(args.corpus)
    frame = corpus.match(units, args.threshold, args.min_length, args.k, args.max_others)
    total = frame.attrs["total"]
    if args.json:
        rows = [{"file": r.file, "start": int(r.start), "end": int(r.end), "length": int(r.length),
                 "others": int(r.others), "context": r.context} for r in frame.itertuples()]  # fmt: skip
        print_json({"matches": rows, "total": total, "units": [f"{n}:{u}" for n, u in units],
                    "threshold": args.threshold, "min_length": args.min_length})  # fmt: skip
        return 0
    named = ", ".join(f"{n}:{u}" for n, u in units)
    spans = f"{total:,} span{'s' if total != 1 else ''}"
    shown = f"the best {len(frame)}:" if len(frame) else "none to show"
    print(f"{spans} where {named} {'is' if len(units) == 1 else 'are'} on (> {args.threshold}) for "
          f"≥ {args.min_length} steps; {shown}")  # fmt: skip
    for rank, r in enumerate(frame.itertuples(), 1):
        where = f"{r.file} chars {r.start:,}-{r.end:,}"  # character positions (file:N would read as a line)
        print(f"{rank:3d} others {r.others:3d}  len {r.length:4d}  {where}  {marked(r.context, r.start, r.length)}")
    return 0
