"""Entry point of ``python -m lstm_viz``: runs the command line in :mod:`lstm_viz.cli`."""

import sys

from lstm_viz.cli import main
from lstm_viz.core.allocator import keep_freed_memory

if __name__ == "__main__":
    keep_freed_memory()  # a program of our own: reuse freed memory (see lstm_viz/core/allocator.py)
    sys.exit(main())
