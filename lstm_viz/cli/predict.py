"""``python -m lstm_viz predict CKPT INPUT…``: the model's answer to each input (``-`` reads stdin).

``--intervene "layer0.fwd.c[units=7,steps=3]=0"`` (repeatable) also answers under those interventions and prints
both: ``62 -> 30`` (or, with ``--json``, ``{"input", "answer", "intervened", "interventions"}`` per line).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lstm_viz.cli.common import (
    ExitError,
    add_module,
    answer_value,
    format_answer,
    load_model,
    parse_input,
    print_json,
    read_inputs,
)
from lstm_viz.core.intervention_text import parse_intervention
from lstm_viz.parsing import InputError, quote

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    predict = sub.add_parser("predict", help="answer inputs with a checkpoint", description="Predict.")
    predict.add_argument("checkpoint", help="a .pt checkpoint")
    predict.add_argument("inputs", nargs="+", metavar="INPUT",
                         help="e.g. '123 - 61' or '0, 0.5, 0.25, 1'; '-' reads inputs from stdin")  # fmt: skip
    predict.add_argument(
        "--intervene",
        action="append",
        default=[],
        metavar="SPEC",
        help="also answer with NAME[units=…,steps=…]=VALUE replaced, e.g. "
        "'layer0.fwd.c[units=7,steps=3]=0' (repeatable; units, steps: 3 or 3;5 or 3-5 or all, the same as "
        "leaving them out; NAME: layerK.fwd or .bwd, then f, i, g, o, c, h (an LSTMP's m too) or a GRU's r, z, n, "
        "h)",
    )
    predict.add_argument("--json", action="store_true", help="one JSON object per line instead of plain answers")
    add_module(predict)
    predict.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    model = load_model(args.checkpoint, args.module)
    try:
        interventions = [parse_intervention(spec) for spec in args.intervene]
    except ValueError as err:
        raise ExitError(f"--intervene: {err}") from None
    inputs, names = read_inputs(args.inputs)
    tensors = []
    for n, text in enumerate(inputs, 1):
        try:
            tensors.append(parse_input(model, text, label=f"{names[n - 1]}: " if len(inputs) > 1 else "",
                                       instead="; give its last part (the answer is about the text's end)"))
        except InputError as err:
            if len(inputs) > 1:
                raise ExitError(f"{names[n - 1]} ({quote(text)}): {err}") from None
            said = quote(text) in str(err)  # the message quotes the input itself ("In '61 - 123', b = …")
            raise ExitError(str(err) if said else f"{quote(text)}: {err}") from None
    answers = []  # every answer first: an intervention that does not fit a later input prints nothing at all
    for n, x in enumerate(tensors, 1):
        try:
            changed = answer_value(model, x, interventions) if interventions else None
        except ValueError as err:
            where = f" ({names[n - 1]}, {quote(inputs[n - 1])})" if len(inputs) > 1 else ""
            raise ExitError(f"--intervene{where}: {err}") from None
        answers.append((answer_value(model, x), changed))
    for text, (answer, changed) in zip(inputs, answers, strict=True):
        if not interventions:
            print_json({"input": text, "answer": answer}) if args.json else print(format_answer(answer))
            continue
        if args.json:
            print_json({"input": text, "answer": answer, "intervened": changed, "interventions": args.intervene})
        else:
            print(f"{format_answer(answer)} -> {format_answer(changed)}")
    return 0
