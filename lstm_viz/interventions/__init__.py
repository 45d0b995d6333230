"""Interventions in the app: which units matter (the ablation sweep), the before/after views of one intervention,
and the Gate Explorer's Intervene tab (``ui``)."""
