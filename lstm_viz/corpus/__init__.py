"""Corpus scale: record a whole corpus's states to Parquet shards, then search them with DuckDB.

``record.record_corpus`` streams a corpus through a character LSTM in bounded memory (resumable);
``query.open_corpus(dir)`` opens the shards for LSTMVis's queries (top contexts of a unit, match of a set of units)
and the unit statistics; ``ui.corpus_section(dir)`` draws both queries in Streamlit. The layout is in ``schema.py``.
"""

from lstm_viz.corpus.errors import CorpusError
from lstm_viz.corpus.model import load_text_model
from lstm_viz.corpus.query import Corpus, context_line, marked, open_corpus, parse_units
from lstm_viz.corpus.record import record_corpus
from lstm_viz.corpus.sources import SourceFile, stdlib_files, text_dir_files, text_files

__all__ = [
    "Corpus",
    "CorpusError",
    "SourceFile",
    "context_line",
    "load_text_model",
    "marked",
    "open_corpus",
    "parse_units",
    "record_corpus",
    "stdlib_files",
    "text_dir_files",
    "text_files",
]
