"""``python -m lstm_viz top-contexts DIR --name layer0.fwd.c --unit U [--k 20] [--lowest] [--json]``: where in a
recorded corpus one unit is largest (smallest), with ±40 characters of context.

With ``--json`` the last stdout line is ``{"contexts": [{"file", "t", "value", "context"}, …]}`` (best first;
``context`` holds characters t−40 … t+40 of the file, clipped at its ends, so step t is at index min(t, 40)).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lstm_viz.cli.common import print_json
from lstm_viz.corpus import marked, open_corpus

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("top-contexts", help="where one unit is largest in a recorded corpus, with context",
                       description="Top contexts of one unit across a recorded corpus.")  # fmt: skip
    p.add_argument("corpus", metavar="DIR", help="a folder written by record-corpus")
    p.add_argument("--name", required=True, help="a recorded tensor, e.g. layer0.fwd.c")
    p.add_argument("--unit", type=int, required=True, help="the unit's index")
    p.add_argument("--k", type=int, default=20, help="how many positions (default 20)")
    p.add_argument("--lowest", action="store_true", help="where the unit is smallest instead")
    p.add_argument("--json", action="store_true", help='last stdout line: {"contexts": [...]}')
    p.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    corpus = open_corpus(args.corpus)
    frame = corpus.top_contexts(args.name, args.unit, k=args.k, lowest=args.lowest)
    if args.json:
        rows = [{"file": r.file, "t": int(r.t), "value": float(r.value), "context": r.context}
                for r in frame.itertuples()]  # fmt: skip
        print_json({"contexts": rows})
        return 0
    side = "lowest" if args.lowest else "highest"
    print(f"{args.name}[{args.unit}]: the {len(frame)} {side} of {corpus.total_chars:,} characters")
    for rank, r in enumerate(frame.itertuples(), 1):
        print(f"{rank:3d} {r.value:+.4f}  {r.file} char {r.t:,}  {marked(r.context, r.t)}")  # step t in ⟦ ⟧
    return 0
