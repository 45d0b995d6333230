"""LSTM vs LSTMP: shapes, counts, multiply-adds and latency from real modules, the pair trained side by side, the
proj_size sweep, their figures and the page's Streamlit sections.

``anatomy`` (parameters, multiply-adds, state sizes), ``latency`` (timed forward passes), ``paired`` (both trained
live in lockstep), ``side_by_side`` (the same input through both), ``sweep`` (proj_size vs accuracy), ``figures``
(pure Plotly builders), ``ui`` (Streamlit). The logic's public names are re-exported here.
"""

from lstm_viz.lstmp.anatomy import *  # noqa: F403
from lstm_viz.lstmp.anatomy import __all__ as _anatomy
from lstm_viz.lstmp.latency import *  # noqa: F403
from lstm_viz.lstmp.latency import __all__ as _latency
from lstm_viz.lstmp.paired import *  # noqa: F403
from lstm_viz.lstmp.paired import __all__ as _paired
from lstm_viz.lstmp.side_by_side import *  # noqa: F403
from lstm_viz.lstmp.side_by_side import __all__ as _side_by_side
from lstm_viz.lstmp.sweep import *  # noqa: F403
from lstm_viz.lstmp.sweep import __all__ as _sweep
from lstm_viz.training.live import RunState

__all__ = [*_anatomy, *_latency, *_paired, *_side_by_side, *_sweep, "RunState"]
