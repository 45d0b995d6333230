"""The app's glue, shared by every page: where a model comes from (shipped, random, uploaded), what it is fed
(typed, random, CSV), and the Streamlit shell, sidebar and error boxes (``ui``)."""
