"""Reading what the command line printed: its last stdout line is one JSON object (the contract scripts rely on)."""

from __future__ import annotations

import json


def last_json(out: str) -> dict:
    """The JSON object on the last line of ``out``."""
    return json.loads(out.strip().splitlines()[-1])
