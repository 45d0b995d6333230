"""What a downloaded figure holds and is called: a standalone HTML page of a Plotly figure, and a file name made from
the model's label, so that the files of several models tell themselves apart."""

from __future__ import annotations

import re
from html import escape

import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["figure_html", "file_name_part", "file_stem"]


def figure_html(fig: go.Figure, title: str | None = None) -> bytes:
    """A standalone HTML page of the figure with plotly.js inlined (no network needed to open it)."""
    html = pio.to_html(fig, include_plotlyjs=True, full_html=True, validate=False)
    if title:
        html = html.replace("<head>", f"<head><title>{escape(title, quote=False)}</title>", 1)
    return html.encode("utf-8")


def file_stem(label: str) -> str:
    """A download's name from the model's label, so that files of several models tell themselves apart:
    ``"subtraction_lstm.pt — subtraction LSTM(2→32)"`` → ``"subtraction_lstm"``; ``"model"`` if nothing is left."""
    name = label.split(" — ")[0].strip()
    name = name[:-3] if name.lower().endswith(".pt") else name
    return file_name_part(name, 64) or "model"


def file_name_part(text: str, limit: int = 64) -> str:
    """``text`` as a piece of a file name any system accepts: runs of other characters than ASCII letters, digits,
    ``_`` and ``-`` become one ``-``, at most ``limit`` characters, no ``-`` or ``_`` at either end
    (``"layer0.fwd.c[66]"`` → ``"layer0-fwd-c-66"``); ``""`` if nothing is left."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")[:limit].strip("-_")
