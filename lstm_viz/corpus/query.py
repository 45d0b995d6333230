"""Queries over a recorded corpus with DuckDB (embedded, no server): top contexts, LSTMVis's match, unit stats.

``open_corpus(dir)`` checks the folder (manifest, every shard present, readable and of the manifest's recording)
and returns a :class:`Corpus`, whose queries return DataFrames:

- ``top_contexts(name, unit, k, lowest)``: the k steps where the unit is largest (smallest), ties broken by
  (file, t) ascending, each with ±40 characters of context. From the unit statistics when they hold k positions
  (instant), otherwise one scan of that unit's column (``source="scan"`` forces it).
- ``match(units, threshold, min_length, k, max_others)``: LSTMVis's match. A unit is *on* at a step when its
  value is > threshold. A match is a maximal span of steps of one file where every selected unit is on, at least
  ``min_length`` long. Its ``others`` are the units of the selected units' tensors, not selected, that are on at
  every step of the span — as LSTMVis does, the fewer, the better the span shows *exactly* the selected pattern.
  Ranked by others (fewest first), then length (longest first), then (file, start); ``max_others`` drops spans
  with more. One scan of the selected columns finds the spans; the others are counted from the on-bits stored for
  that threshold (``schema.on_words``: a few int64 columns per tensor) or, at any other threshold, from one scan
  of every unit's column of those tensors. Values are compared with the threshold exactly (as doubles).
- ``unit_stats()``: the table written beside the shards (``stats.py``).

``corpus.sql(query)`` runs any SQL over the views ``shards`` and ``files``.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lstm_viz.corpus.errors import CorpusError
from lstm_viz.corpus.schema import (
    files_path,
    manifest_path,
    meta_or_none,
    on_column,
    parse_unit_column,
    read_manifest,
    shard_name,
    shards_dir,
    stats_path,
    stored_meta,
    unit_column,
)

__all__ = ["CONTEXT", "Corpus", "context_line", "marked", "open_corpus", "parse_units"]

CONTEXT = 40  # characters shown on each side
_SPAN_SHOWN = 200  # a longer span is shown as its start … its end


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:300] if text else type(err).__name__


MAX_COUNT = 10**9  # the most a --k, --min-length or --max-others can sensibly ask (a corpus of 10⁹ characters)


def _check_count(flag: str, value: int, lowest: int) -> None:
    """A whole-number option of a query, within [lowest, MAX_COUNT]: a CorpusError that names the flag."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lowest <= value <= MAX_COUNT:
        raise CorpusError(f"{flag} must be a whole number from {lowest} to {MAX_COUNT:,}, got {value}")


@contextlib.contextmanager
def _query_errors(shards: Sequence[Path] = ()) -> Iterator[None]:
    """DuckDB's errors as a CorpusError of one line; one that comes from a damaged shard among ``shards`` names it."""
    import duckdb  # imported where a corpus is opened or queried: ~70 ms the other CLI commands do not pay

    try:
        yield
    except duckdb.Error as err:
        # a query's own mistake (a name, a value) says nothing of the shards: only other errors send us looking
        damaged = not isinstance(err, (duckdb.BinderException, duckdb.ParserException, duckdb.ConversionException,
                                       duckdb.InterruptException))  # fmt: skip
        for path in shards if damaged else ():  # only on this error path: read each shard whole to find which
            try:
                pq.read_table(path)
            except Exception as bad:
                raise CorpusError(f"{path} is damaged ({_one_line(bad)[:120]}); delete it and run the same "
                                  "record-corpus command again to rewrite it") from None  # fmt: skip
        raise CorpusError(f"query failed: {_one_line(err)}"
                          + (" (a shard may be damaged: record it again)" if damaged else "")) from None  # fmt: skip


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _balanced_sum(terms: list[str]) -> str:
    """``a + b + …`` as a balanced tree, so a thousand terms stay within DuckDB's expression depth."""
    if len(terms) == 1:
        return terms[0]
    mid = len(terms) // 2
    return f"({_balanced_sum(terms[:mid])} + {_balanced_sum(terms[mid:])})"


def context_line(text: str) -> str:
    """A context on one line: newlines shown as ⏎, tabs as →."""
    return text.replace("\n", "⏎").replace("\t", "→")


def marked(context: str, start: int, length: int = 1) -> str:
    """A context on one line (``context_line``) with its step (or span) in ⟦ ⟧: ``context`` as ``Corpus.context``
    made it for a step or span at ``start`` (characters before it: min(start, 40))."""
    before = min(start, CONTEXT)
    shown = min(length, _SPAN_SHOWN)  # a longer span was shortened to 200 characters, "…" included
    return context_line(context[:before] + "⟦" + context[before : before + shown] + "⟧" + context[before + shown :])


def parse_units(spec: str | Sequence[str]) -> list[tuple[str, int]]:
    """``"layer0.fwd.c:66,layer0.fwd.c:12"`` (or a list of ``name:unit``) → ``[("layer0.fwd.c", 66), …]``."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    units = []
    for item in (i.strip() for i in items):
        name, sep, unit = item.rpartition(":")
        if not sep or not name or not unit.strip().lstrip("-").isdigit():
            raise CorpusError(f"--units: {item!r} is not NAME:UNIT, e.g. layer0.fwd.c:66")
        if (name, int(unit)) in units:
            raise CorpusError(f"--units: {item} is given twice")
        units.append((name, int(unit)))
    if not units:
        raise CorpusError("--units: give at least one NAME:UNIT, e.g. layer0.fwd.c:66")
    return units


class Corpus:
    """A recorded corpus, opened read-only: its manifest, files, unit names and a DuckDB connection."""

    def __init__(self, root: Path, manifest: dict, shards: list[Path]) -> None:
        self.root, self.manifest, self.shards = root, manifest, shards
        self.units: dict[str, int] = dict(manifest["units"])  # name → number of units
        self.files = pd.DataFrame(
            {"file_id": range(len(manifest["files"])), "name": [f["name"] for f in manifest["files"]],
             "chars": [f["chars"] for f in manifest["files"]]}
        )  # fmt: skip
        self._lock = threading.Lock()
        self._texts: dict[int, str] = {}
        self._stats: pd.DataFrame | None = None
        self.last_match_path = ""  # how the last match counted the others: "on-bits" or "scan"
        import duckdb

        self.con = duckdb.connect()
        self.con.execute("SET parquet_metadata_cache = true")
        listing = ", ".join(_sql_path(p) for p in shards)
        with _query_errors():
            self.con.execute(f"CREATE VIEW shards AS SELECT * FROM read_parquet([{listing}])")
            self.con.execute(f"CREATE VIEW files AS SELECT * FROM read_parquet({_sql_path(files_path(root))})")

    # ------------------------------------------------------------------ plumbing
    @property
    def names(self) -> list[str]:
        return list(self.units)

    @property
    def total_chars(self) -> int:
        return int(self.manifest["total_chars"])

    def sql(self, query: str, params: Sequence | None = None) -> pd.DataFrame:
        """Any SQL over the views ``shards`` and ``files``; DuckDB's errors become CorpusError."""
        with self._lock, _query_errors(self.shards):
            return self.con.execute(query, params or []).df()

    def check_unit(self, name: str, unit: int) -> str:
        """The column of ``name``'s ``unit``; CorpusError when this corpus has no such name or unit."""
        if name not in self.units:
            raise CorpusError(f"unknown name {name!r}; this corpus has {', '.join(self.units)}")
        if not 0 <= unit < self.units[name]:
            raise CorpusError(f"unit {unit} is out of range for {name} (0..{self.units[name] - 1})")
        return unit_column(name, unit)

    def text(self, file_id: int) -> str:
        """The recorded characters of one file."""
        if file_id not in self._texts:
            self._load_texts([file_id])
        return self._texts[file_id]

    def _load_texts(self, file_ids: Sequence[int]) -> None:
        wanted = sorted({int(f) for f in file_ids} - set(self._texts))
        if wanted:
            rows = self.sql(f"SELECT file_id, text FROM files WHERE file_id IN ({', '.join(map(str, wanted))})")
            self._texts.update(zip(rows["file_id"].tolist(), rows["text"].tolist(), strict=True))
            missing = [f for f in wanted if f not in self._texts]
            if missing:
                raise CorpusError(f"{files_path(self.root)} has no file {missing[0]}: it does not belong to this "
                                  "recording; run the same record-corpus command again to rewrite it")  # fmt: skip

    def context(self, file_id: int, start: int, stop: int | None = None, width: int = CONTEXT) -> str:
        """Characters ``start - width`` … ``stop - 1 + width`` of a file (clipped to it); ``stop`` defaults to
        ``start + 1``. A span longer than 200 characters is shortened in its middle to ``…``."""
        text = self.text(file_id)
        stop = start + 1 if stop is None else stop
        span = text[start:stop]
        if len(span) > _SPAN_SHOWN:
            span = span[: _SPAN_SHOWN // 2] + "…" + span[-(_SPAN_SHOWN // 2 - 1) :]
        return text[max(0, start - width) : start] + span + text[stop : stop + width]

    # ------------------------------------------------------------------ unit statistics
    def unit_stats(self) -> pd.DataFrame:
        """One row per (name, unit): count, mean, std, min, max, saturation bounds and fractions, and the top and
        bottom ``stats_top_k`` positions (lists ``top_file_id, top_t, top_value``, ``bottom_…``)."""
        if self._stats is None:
            path = stats_path(self.root)
            if not path.is_file():
                raise CorpusError(f"{self.root} has no unit_stats.parquet; run record-corpus again to finish it")
            try:
                table = pq.read_table(path)
            except Exception as err:
                raise CorpusError(f"{path} is damaged ({_one_line(err)}); run record-corpus again") from None
            if not _part_of(table.schema, self.manifest) or table.num_rows != sum(self.units.values()):
                raise CorpusError(f"{path} does not belong to this recording; run the same record-corpus command "
                                  "again to rewrite it")  # fmt: skip
            self._stats = table.to_pandas()
        return self._stats

    # ------------------------------------------------------------------ top contexts
    def top_contexts(
        self, name: str, unit: int, k: int = 20, lowest: bool = False, source: str = "auto"
    ) -> pd.DataFrame:
        """The k steps where ``name``'s ``unit`` is largest (``lowest``: smallest): columns file, t, value,
        context (characters t−40 … t+40 of the file, clipped at its ends, so step t is at index min(t, 40)).

        ``source``: ``"stats"`` (the positions stored in the unit statistics; k ≤ ``stats_top_k``), ``"scan"``
        (one DuckDB scan of the unit's column) or ``"auto"`` (stats when they hold k positions)."""
        column = self.check_unit(name, unit)
        _check_count("--k", k, 1)
        if source not in ("auto", "stats", "scan"):
            raise ValueError(f"source must be auto, stats or scan, got {source!r}")
        stored = int(self.manifest.get("stats_top_k", 0))
        if source == "stats" and k > stored:
            raise CorpusError(f"the unit statistics hold {stored} positions per unit; k={k} needs a scan")
        if source == "stats" or (source == "auto" and k <= stored and stats_path(self.root).is_file()):
            stats = self.unit_stats()
            row = stats[(stats["name"] == name) & (stats["unit"] == unit)].iloc[0]
            side = "bottom" if lowest else "top"
            frame = pd.DataFrame({"file_id": row[f"{side}_file_id"][:k], "t": row[f"{side}_t"][:k],
                                  "value": row[f"{side}_value"][:k]})  # fmt: skip
        else:
            order = "ASC" if lowest else "DESC"
            frame = self.sql(
                f'SELECT file_id, t, "{column}" AS value FROM shards ORDER BY value {order}, file_id, t LIMIT {int(k)}'
            )
        return self._with_contexts(frame)

    def _with_contexts(self, frame: pd.DataFrame) -> pd.DataFrame:
        self._load_texts(frame["file_id"].tolist())
        names = self.files["name"]
        return pd.DataFrame(
            {
                "file": [names[f] for f in frame["file_id"]],
                "t": frame["t"].astype("int64"),
                "value": frame["value"].astype("float64"),
                "context": [self.context(f, t) for f, t in zip(frame["file_id"], frame["t"], strict=True)],
                "file_id": frame["file_id"].astype("int64"),
            }
        )

    # ------------------------------------------------------------------ match
    def match(
        self,
        units: Sequence[tuple[str, int]] | str,
        threshold: float = 0.3,
        min_length: int = 3,
        k: int = 20,
        max_others: int | None = None,
    ) -> pd.DataFrame:
        """LSTMVis's match over the whole corpus (see the module docstring): columns file, start, end (exclusive),
        length, others, context (40 characters, the span, 40 characters); ``attrs["total"]``: spans found."""
        if not isinstance(units, str):  # (name, unit) pairs: read as their NAME:UNIT, with the same checks
            try:
                units = [f"{name}:{unit}" for name, unit in units]
            except (TypeError, ValueError):
                raise CorpusError("units: give NAME:UNIT text or (name, unit) pairs, e.g. [('layer0.fwd.c', 66)]") \
                    from None
        selected = parse_units(units)
        columns = [self.check_unit(name, unit) for name, unit in selected]
        _check_count("--min-length", min_length, 1)
        _check_count("--k", k, 1)
        if max_others is not None:
            _check_count("--max-others", max_others, 0)
        try:
            thr = float(threshold)
        except (TypeError, ValueError):
            thr = float("nan")
        if not np.isfinite(thr):
            raise CorpusError(f"--threshold must be a number, got {threshold!r}")
        literal = f"CAST({thr!r} AS DOUBLE)"  # compared exactly: a FLOAT value is promoted to DOUBLE
        names = list(dict.fromkeys(n for n, _ in selected))
        all_on = " AND ".join(f'"{c}" > {literal}' for c in columns)
        if thr in self.manifest.get("on_thresholds", []):  # the stored on-bits: a few int64 columns per tensor
            n_selected = len(selected)
            counted = _balanced_sum([f'bit_count(bit_and(x."{on_column(name, thr, w)}"))::INTEGER'
                                     for name in names for w in range(-(-self.units[name] // 64))])  # fmt: skip
            counted = f"({counted} - {n_selected})"  # the selected units are on throughout by definition
            self.last_match_path = "on-bits"
        else:  # every other unit's column of the selected tensors
            others = [
                unit_column(name, u) for name in names for u in range(self.units[name]) if (name, u) not in selected
            ]
            counted = _balanced_sum([f'bool_and(x."{c}" > {literal})::INTEGER' for c in others]) if others else "0"
            self.last_match_path = "scan"
        with self._lock, _query_errors(self.shards):
            self.con.execute(f"""
                CREATE OR REPLACE TEMP TABLE span_rows AS
                WITH hits AS (SELECT file_id, t FROM shards WHERE {all_on}),
                runs AS (SELECT file_id, t, t - row_number() OVER (PARTITION BY file_id ORDER BY t) AS grp
                         FROM hits),
                spans AS (SELECT file_id, grp, min(t) AS start, count(*) AS length FROM runs
                          GROUP BY file_id, grp HAVING count(*) >= {int(min_length)})
                SELECT r.file_id, r.t, s.start, s.length FROM runs r JOIN spans s USING (file_id, grp)
            """)  # fmt: skip
            self.con.execute(f"""
                CREATE OR REPLACE TEMP TABLE ranked AS
                SELECT r.file_id, r.start, any_value(r.length) AS length, {counted} AS others
                FROM shards x JOIN span_rows r ON x.file_id = r.file_id AND x.t = r.t
                GROUP BY r.file_id, r.start
            """)  # fmt: skip
            keep = "" if max_others is None else f"WHERE others <= {int(max_others)}"
            total = self.con.execute(f"SELECT count(*) FROM ranked {keep}").fetchone()[0]
            frame = self.con.execute(
                f"SELECT file_id, start, length, others FROM ranked {keep} "
                f"ORDER BY others, length DESC, file_id, start LIMIT {int(k)}"
            ).df()
        self._load_texts(frame["file_id"].tolist())
        result = pd.DataFrame(
            {
                "file": [self.files["name"][f] for f in frame["file_id"]],
                "start": frame["start"].astype("int64"),
                "end": (frame["start"] + frame["length"]).astype("int64"),
                "length": frame["length"].astype("int64"),
                "others": frame["others"].astype("int64"),
                "context": [
                    self.context(f, s, s + n)
                    for f, s, n in zip(frame["file_id"], frame["start"], frame["length"], strict=True)
                ],
                "file_id": frame["file_id"].astype("int64"),
            }
        )
        result.attrs["total"] = int(total)
        return result


def _part_of(schema: pa.Schema, manifest: dict) -> bool:
    """Whether ``files.parquet`` or ``unit_stats.parquet`` (their ``schema``, as read) was written by the manifest's
    recording (its plan digest; a file from before the digest was stored is taken as it is)."""
    try:
        meta = stored_meta(schema)
    except ValueError:
        return False
    return meta is None or meta.get("plan") == manifest["plan_digest"]


def open_corpus(root: str | Path) -> Corpus:
    """Open the corpus recorded in folder ``root``; CorpusError (one line) when it is missing, incomplete, or a
    shard is damaged or belongs to another recording."""
    if isinstance(root, str) and not root.strip():  # Path("") is the current folder: not what anyone meant
        raise CorpusError("the corpus folder is empty; give the folder record-corpus wrote, e.g. corpus_py")
    root = Path(root)
    manifest = read_manifest(root)
    shards = [shards_dir(root) / shard_name(s) for s in range(manifest["num_shards"])]
    missing = [p for p in shards if not p.is_file()]
    if missing or not manifest.get("complete"):
        have = len(shards) - len(missing)
        raise CorpusError(f"{root} is incomplete ({have} of {len(shards)} shards recorded); run the same "
                          "record-corpus command again to finish it")  # fmt: skip
    if not files_path(root).is_file():
        raise CorpusError(f"{root} has no files.parquet; run the same record-corpus command again to rewrite it")
    try:
        listed = pq.read_table(files_path(root), columns=["file_id", "name", "chars"])
    except Exception as err:
        raise CorpusError(f"{files_path(root)} is damaged ({_one_line(err)[:120]}); run the same record-corpus "
                          "command again to rewrite it") from None  # fmt: skip
    expected = [(k, f["name"], f["chars"]) for k, f in enumerate(manifest["files"])]
    held = list(zip(*(listed.column(c).to_pylist() for c in ("file_id", "name", "chars")), strict=True))
    if held != expected or not _part_of(listed.schema, manifest):
        raise CorpusError(f"{files_path(root)} does not belong to this recording (its files differ from the "
                          "manifest's; one of the two was changed): run the same record-corpus command again to "
                          "rewrite both")  # fmt: skip
    for index, path in enumerate(shards):
        try:
            schema = pq.read_schema(path)
        except Exception as err:
            raise CorpusError(f"{path} is damaged ({_one_line(err)[:120]}); delete it and run the same "
                              "record-corpus command again to rewrite it") from None  # fmt: skip
        meta = meta_or_none(schema)
        if meta is None:
            raise CorpusError(f"{path} is not a shard written by record-corpus")
        if meta.get("model") != manifest["model"]["fingerprint"]:
            raise CorpusError(f"{path} was recorded with another model (fingerprint {meta.get('model')}; the "
                              f"manifest's is {manifest['model']['fingerprint']})")  # fmt: skip
        if meta.get("plan") != manifest["plan_digest"]:
            raise CorpusError(f"{path} belongs to another recording of this model (other files or settings)")
        if meta.get("shard", index) != index:  # another shard of this very recording, copied over this one
            raise CorpusError(f"{path} holds shard {meta['shard']} of this recording, not shard {index} (a copy over "
                              "it); delete it and run the same record-corpus command again to rewrite it")  # fmt: skip
        if index == 0:  # one plan, one schema: the first shard's columns against the manifest's units
            held = Counter(unit[0] for unit in map(parse_unit_column, schema.names) if unit)
            if held != Counter(manifest["units"]):
                raise CorpusError(f"{manifest_path(root)} is inconsistent with its shards (units per name "
                                  f"{dict(manifest['units'])}, the shards hold {dict(held)}): edited or damaged; "
                                  "record the corpus again into a new --out folder")  # fmt: skip
    return Corpus(root, manifest, shards)
