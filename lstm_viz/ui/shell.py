"""Keep every page inside app.py's navigation, even when a fresh server is first opened on a page's own URL.

Streamlit still has its first multipage mode (a ``pages/`` folder next to the entry script). Until app.py has run
``st.navigation`` once in the process, a request for ``/explorer`` runs ``pages/explorer.py`` alone: no shared
sidebar, file names as page titles. ``ensure_app_shell()`` at the top of a page notices that and reruns through
app.py, which then shows the same page with the sidebar.
"""

from __future__ import annotations

import streamlit as st


def ensure_app_shell() -> None:
    """Rerun through app.py if this page was started by Streamlit's pages-folder mode instead of st.navigation."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the old mode
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets on its first call
        st.rerun()
