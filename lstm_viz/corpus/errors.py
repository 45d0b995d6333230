"""The one error of the corpus folder: a user-facing problem with a one-line message (the CLI prints it as is)."""

from __future__ import annotations

__all__ = ["CorpusError"]


class CorpusError(ValueError):
    """Bad input or a corpus folder that cannot be used; the message is one line and says what to do."""
