"""``python -m lstm_viz predict CKPT INPUT…``: the model's answer to each input (``-`` reads stdin)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from lstm_viz.cli.common import ExitError, answer_value, format_answer, load_model, parse_input, read_inputs
from lstm_viz.parsing import InputError

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    predict = sub.add_parser("predict", help="answer inputs with a checkpoint", description="Predict.")
    predict.add_argument("checkpoint", help="a .pt checkpoint")
    predict.add_argument("inputs", nargs="+", metavar="INPUT",
                         help="e.g. '123 - 61' or '0, 0.5, 0.25, 1'; '-' reads inputs from stdin")  # fmt: skip
    predict.add_argument("--json", action="store_true", help="one JSON object per line instead of plain answers")
    predict.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    model = load_model(args.checkpoint)
    inputs = read_inputs(args.inputs)
    tensors = []
    for n, text in enumerate(inputs, 1):
        try:
            tensors.append(parse_input(model, text))
        except InputError as err:
            where = f"input {n} ({text!r})" if len(inputs) > 1 else f"{text!r}"
            raise ExitError(f"{where}: {err}") from None
    answers = [answer_value(model, x) for x in tensors]
    for text, answer in zip(inputs, answers, strict=True):
        print(json.dumps({"input": text, "answer": answer}) if args.json else format_answer(answer))
    return 0
