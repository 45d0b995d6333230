"""The tutorial posts lstm-viz rebuilds, by number, in words: pages, captions and the CLI name a post this way.

"post 4" is a post; "seed" is only ever a random seed. Posts that became a task say so in the task's ``post``
attribute; the others (nn.LSTM's shapes, the equations by hand with RNNCell and LSTMP) are named here.
"""

from __future__ import annotations

from lstm_viz.tasks.regressor import REGRESSOR
from lstm_viz.tasks.subtraction import SUBTRACTION
from lstm_viz.tasks.toy import STATQUEST

__all__ = ["POSTS", "post"]

POSTS: dict[int, str] = {
    0: STATQUEST.post,
    1: "post 1: nn.LSTM's inputs, outputs and shapes",
    2: REGRESSOR.post,
    3: "post 3: nn.LSTM's equations by hand, RNNCell vs RNN, and the projection (LSTMP)",
    4: SUBTRACTION.post,
}


def post(number: int) -> str:
    """``post(4)`` → ``"post 4: an LSTM learns 8-bit binary subtraction"``."""
    return POSTS[number]
