"""The one-line spelling of an intervention the command line takes: ``NAME[units=…,steps=…]=VALUE``.

``python -m lstm_viz predict MODEL "123 - 61" --intervene "layer0.fwd.c[units=1]=0"`` → ``Intervention("layer0.fwd.c",
0.0, units=[1])``. Every refusal is one ValueError that says what to write instead.
"""

from __future__ import annotations

import re

import torch

from lstm_viz.core.interventions import Intervention

__all__ = ["MAX_RANGE", "parse_intervention"]

_SPEC = re.compile(
    r"^\s*(?P<name>layer[0-9]+\.(?:fwd|bwd)\.\w+)\s*(?:\[(?P<opts>[^\]]*)\])?\s*=\s*(?P<value>\S+)\s*$", re.ASCII
)


def parse_intervention(text: str) -> Intervention:
    """``"layer0.fwd.c[units=7,steps=3]=0"`` → ``Intervention("layer0.fwd.c", 0.0, steps=[3], units=[7])``.

    Options in brackets: ``units=`` and ``steps=``, each a list of whole numbers separated by ``;`` or ``|``, a
    range ``a-b`` (``units=3-5`` is 3, 4, 5) or ``all`` (the same as leaving the option out); the value is a number.
    ValueError with an example otherwise.
    """
    example = "layer0.fwd.c[units=7,steps=3]=0"
    match = _SPEC.match(text or "")
    if match is None:
        raise ValueError(f"cannot read the intervention {text!r}; write NAME[units=…,steps=…]=VALUE, e.g. {example}")
    options: dict[str, list[int] | None] = {}
    for part in filter(None, (p.strip() for p in (match["opts"] or "").split(","))):
        key, _, raw = part.partition("=")
        key = key.strip()
        if key in ("units", "steps") and "=" in part and not raw.strip():
            raise ValueError(f"in {text!r}: {key}= needs a list, e.g. {key}=1;2 or {key}=3-5 (leave {key}= out, or "
                             f"write {key}=all, for every {key[:-1]})")  # fmt: skip
        if key not in ("units", "steps") or not raw.strip():
            if re.fullmatch(r"[0-9\s;|-]+", part) and options:  # "units=1,2": a list written with commas
                raise ValueError(f"in {text!r}: {part!r} after a comma is not units=… or steps=…; a list of units "
                                 f"or steps is written with ';' or '|' (units=1;2) or as a range (units=3-5), "
                                 f"since commas separate the options")  # fmt: skip
            raise ValueError(f"in {text!r}: {part!r} is not units=… or steps=…; e.g. {example}")
        if key in options:
            raise ValueError(f"in {text!r}: {key}= is given twice; give it once, listing with ';' (e.g. {key}=1;2)")
        options[key] = None if raw.strip().lower() == "all" else _int_list(raw, key, text, example)  # as the app
    try:
        if "_" in match["value"] or not match["value"].isascii():  # float() reads 1_000 and other scripts' digits
            raise ValueError
        value = float(match["value"])
    except ValueError:
        raise ValueError(f"in {text!r}: the value {match['value']!r} is not a number; e.g. {example}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"in {text!r}: the value must be a finite number; e.g. {example}")
    if abs(value) > _FLOAT32_MAX:
        raise ValueError(f"in {text!r}: the value {match['value']} is beyond float32's range (±3.4e38), in which "
                         f"the model computes; e.g. {example}")  # fmt: skip
    return Intervention(match["name"], value, steps=options.get("steps"), units=options.get("units"))


_FLOAT32_MAX = torch.finfo(torch.float32).max


MAX_RANGE = 100_001  # values one range a-b may name (a long recording's steps)


def _int_list(raw: str, key: str, text: str, example: str) -> list[int]:
    out: list[int] = []
    for token in filter(None, (t.strip() for t in re.split(r"[;|\s]+", raw))):
        span = re.fullmatch(r"([0-9]{1,9})-([0-9]{1,9})", token)
        if span:
            lo, hi = int(span[1]), int(span[2])
            if hi < lo:
                raise ValueError(f"in {text!r}: {key} range {token!r} must go up, e.g. 3-5")
            if hi - lo >= MAX_RANGE:
                raise ValueError(f"in {text!r}: {key} range {token!r} spans {hi - lo + 1:,}; a range may span at "
                                 f"most {MAX_RANGE:,}")  # fmt: skip
            out.extend(range(lo, hi + 1))
        elif re.fullmatch(r"[0-9]{1,9}", token):
            out.append(int(token))
        elif re.fullmatch(r"[0-9]+", token):
            raise ValueError(f"in {text!r}: {key} {token[:20]!r} is far too large ({len(token)} digits; at most 9); "
                             f"e.g. {example}")  # fmt: skip
        else:
            raise ValueError(f"in {text!r}: {key} must be whole numbers ≥ 0 (got {token!r}); e.g. {example}")
    return out
