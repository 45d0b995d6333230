"""What a downloaded figure holds and is called: a standalone HTML page of a Plotly figure, and a file name made from
the model's label, so that the files of several models tell themselves apart."""

from __future__ import annotations

import re
import unicodedata
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


_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")  # what the app's uploader takes


def file_stem(label: str) -> str:
    """A download's name from the model's label, so that files of several models tell themselves apart:
    ``"subtraction_lstm.pt — subtraction LSTM(2→32)"`` → ``"subtraction_lstm"``, ``"my résumé.pth — …"`` →
    ``"my-resume"``; a long label keeps its start and its end (a random model's seed); ``"model"`` if nothing is
    left."""
    name = label.split(" — ")[0].strip()
    for suffix in _SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    whole = file_name_part(name, 10_000)
    if len(whole) > 64:  # random RecordingLSTM(64, 512, num_layers=4, …), seed 7: the seed is at the end
        whole = f"{whole[:40].strip('-_')}--{whole[-22:].strip('-_')}"
    return whole or "model"


def file_name_part(text: str, limit: int = 64) -> str:
    """``text`` as a piece of a file name any system accepts: accents dropped from their letters (é → e), runs of
    other characters than ASCII letters, digits, ``_`` and ``-`` made one ``-``, at most ``limit`` characters, no
    ``-`` or ``_`` at either end (``"layer0.fwd.c[66]"`` → ``"layer0-fwd-c-66"``); ``""`` if nothing is left."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return re.sub(r"[^A-Za-z0-9_-]+", "-", plain).strip("-_")[:limit].strip("-_")
