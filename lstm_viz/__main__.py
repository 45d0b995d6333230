"""Entry point of ``python -m lstm_viz``: runs the command line in :mod:`lstm_viz.cli`."""

import sys

from lstm_viz.cli import main

if __name__ == "__main__":
    sys.exit(main())
