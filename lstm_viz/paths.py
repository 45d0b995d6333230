"""Where the repository's own files are: the shipped models folder (one definition for the app, CLI and tests)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["MODELS_DIR", "REPO_ROOT", "SWEEP_FILE"]

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"  # shipped checkpoints (see models/README.md)
SWEEP_FILE = MODELS_DIR / "proj_sweep.json"  # the shipped proj_size sweep of the LSTM vs LSTMP page
