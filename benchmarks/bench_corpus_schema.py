"""Which shard layout answers the corpus queries faster: measured on a corpus recorded by record-corpus.

    python benchmarks/bench_corpus_schema.py DIR [--long-chars 100000]

DIR holds the layout lstm-viz writes, **wide**: one row per (file, t), one FLOAT16 column per unit
(``layer0_fwd_c_66``). This script rewrites the same values in two other layouts, with the same zstd compression,
and runs the same three queries on each with DuckDB:

- **list**: one row per (file, t), one fixed-size list column per tensor (``layer0_fwd_c FLOAT16[384]``);
- **long**: one row per (file, t, name, unit): ``file_id, t, name, unit, value`` — only the first
  ``--long-chars`` characters (it has units × names times as many rows), with times scaled up linearly;

and the queries: top-20 of one unit; the spans where two units are on (> 0.3) together; the same plus the count of
the other units of that tensor on throughout each span (LSTMVis's match). Wide and list are measured on the whole
corpus; the long layout's times on its part are scaled by the ratio of characters.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cli_args import positive_int

if TYPE_CHECKING:
    import duckdb

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NAME, A, B, THR = "layer0.fwd.c", 66, 12, 0.3
RECORD = "python -m lstm_viz record-corpus models/charlm_python.pt --stdlib --tensors c,h --out DIR"
FORMAT = "lstm-viz/corpus"  # lstm_viz.corpus.schema.FORMAT: a manifest's "format"


def recorded_corpus(text: str) -> str:
    """argparse type of DIR: a folder that record-corpus finished writing, holding units A and B of NAME (what the
    queries read); returned as given. Checked here: what this script reads (the manifest's format, units and shards,
    and every shard there), without importing lstm_viz, so that a wrong folder is refused at once."""
    root, manifest_path = Path(text), Path(text) / "manifest.json"
    if not root.is_dir():
        problem = "is not a folder" if root.exists() else "not found"
        raise argparse.ArgumentTypeError(f"{text!r} {problem}: give the --out folder of record-corpus, e.g. "
                                         f"`{RECORD}`")  # fmt: skip
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise argparse.ArgumentTypeError(f"{text} is not a recorded corpus (no manifest.json): give the --out folder "
                                         f"of record-corpus, e.g. `{RECORD}`") from None  # fmt: skip
    except (OSError, ValueError) as err:  # UnicodeDecodeError and json.JSONDecodeError are ValueErrors
        raise argparse.ArgumentTypeError(f"{manifest_path} cannot be read ({type(err).__name__}): record the corpus "
                                         "again") from None  # fmt: skip
    manifest = manifest if isinstance(manifest, dict) else {}
    units, shards = manifest.get("units"), manifest.get("num_shards")
    if manifest.get("format") != FORMAT or not isinstance(units, dict) or type(shards) is not int or shards < 1:
        raise argparse.ArgumentTypeError(f"{manifest_path} is not the manifest of a corpus that record-corpus wrote")
    if not isinstance(units.get(NAME), int) or units[NAME] <= max(A, B):
        held = ", ".join(f"{name} ({n} units)" for name, n in units.items()) or "no units"
        raise argparse.ArgumentTypeError(f"{text} holds {held}; the queries read units {A} and {B} of {NAME}: "
                                         f"record a corpus with them, e.g. `{RECORD}`")  # fmt: skip
    missing = next((k for k in range(shards) if not (root / "shards" / f"part-{k:05d}.parquet").is_file()), None)
    if missing is not None or not manifest.get("complete"):
        why = f"shard {missing} of {shards} is missing" if missing is not None else "not marked complete"
        raise argparse.ArgumentTypeError(f"{text} is incomplete ({why}): run the same record-corpus command again to "
                                         "finish it")  # fmt: skip
    return text


def _shards(root: Path) -> list[Path]:
    return sorted((root / "shards").glob("part-*.parquet"))


def convert(shards: list[Path], out: Path, layout: str, names: list[str], units: int, max_rows: int | None) -> int:
    """Rewrite the wide shards as ``layout`` (one output file per input shard); returns rows of the wide layout."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lstm_viz.corpus.schema import unit_column

    out.mkdir(parents=True)
    rows = 0
    for k, path in enumerate(shards):
        source = pq.ParquetFile(path)
        writer = None
        for g in range(source.num_row_groups):
            if max_rows is not None and rows >= max_rows:
                break
            table = source.read_row_group(g)
            rows += table.num_rows
            keys = [table["file_id"], table["t"]]
            if layout == "list":
                lists = []
                for name in names:
                    cols = [table[unit_column(name, u)].to_numpy() for u in range(units)]
                    flat = pa.array(np.stack(cols, 1).ravel())
                    lists.append(pa.FixedSizeListArray.from_arrays(flat, units))
                new = pa.Table.from_arrays(keys + lists, names=["file_id", "t", *[n.replace(".", "_") for n in names]])
            else:
                parts = []
                for name in names:
                    values = np.stack([table[unit_column(name, u)].to_numpy() for u in range(units)], 1)
                    n = len(values)
                    parts.append(pa.table({
                        "file_id": np.repeat(table["file_id"].to_numpy(), units),
                        "t": np.repeat(table["t"].to_numpy(), units),
                        "name": pa.array([name] * (n * units)).dictionary_encode(),
                        "unit": np.tile(np.arange(units, dtype=np.int16), n),
                        "value": values.ravel(),
                    }))  # fmt: skip
                new = pa.concat_tables(parts)
            if writer is None:
                stats = ["file_id", "t", "name", "unit"]
                writer = pq.ParquetWriter(out / f"part-{k:05d}.parquet", new.schema, compression="zstd",
                                          use_dictionary=["name"], write_statistics=stats)  # fmt: skip
            writer.write_table(new, row_group_size=new.num_rows)
        if writer is not None:
            writer.close()
        if max_rows is not None and rows >= max_rows:
            break
    return rows


def _time(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[float, object]:
    con.execute(sql).fetchall()  # metadata cached, as in a Corpus
    started = time.perf_counter()
    result = con.execute(sql).fetchall()
    return time.perf_counter() - started, result


def queries(layout: str, glob: str, units: int) -> dict[str, float]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET parquet_metadata_cache = true")
    col = NAME.replace(".", "_")
    if layout == "wide":
        value = f"{col}_{A}"
        on = f"{col}_{A} > {THR} AND {col}_{B} > {THR}"
        others = " + ".join(f"(bool_and(x.{col}_{u} > {THR}))::INT" for u in range(units) if u not in (A, B))
        top = f"SELECT file_id, t, {value} AS v FROM '{glob}' ORDER BY v DESC, file_id, t LIMIT 20"
        source = f"'{glob}'"
    elif layout == "list":
        on = f"{col}[{A + 1}] > {THR} AND {col}[{B + 1}] > {THR}"
        others = " + ".join(f"(bool_and(x.{col}[{u + 1}] > {THR}))::INT" for u in range(units) if u not in (A, B))
        top = f"SELECT file_id, t, {col}[{A + 1}] AS v FROM '{glob}' ORDER BY v DESC, file_id, t LIMIT 20"
        source = f"'{glob}'"
    else:
        on = None
        top = (f"SELECT file_id, t, value AS v FROM '{glob}' WHERE name = '{NAME}' AND unit = {A} "
               "ORDER BY v DESC, file_id, t LIMIT 20")  # fmt: skip
        source = None
    spans = """
        runs AS (SELECT file_id, t, t - row_number() OVER (PARTITION BY file_id ORDER BY t) AS grp FROM hits),
        spans AS (SELECT file_id, grp, min(t) AS start, count(*) AS length FROM runs GROUP BY file_id, grp
                  HAVING count(*) >= 3)
        SELECT r.file_id, r.t, s.start FROM runs r JOIN spans s USING (file_id, grp)"""
    if layout == "long":
        hits = (f"SELECT file_id, t FROM '{glob}' WHERE name = '{NAME}' AND unit IN ({A}, {B}) AND value > {THR} "
                "GROUP BY file_id, t HAVING count(*) = 2")  # fmt: skip
        others_sql = (f"SELECT r.file_id, r.start, count(*) FROM (SELECT x.file_id, r.start, x.unit FROM '{glob}' x "
                      f"JOIN span_rows r USING (file_id, t) WHERE x.name = '{NAME}' AND x.unit NOT IN ({A}, {B}) "
                      f"GROUP BY x.file_id, r.start, x.unit HAVING bool_and(x.value > {THR})) r "
                      "GROUP BY r.file_id, r.start")  # fmt: skip
    else:
        hits = f"SELECT file_id, t FROM {source} WHERE {on}"
        others_sql = (f"SELECT r.file_id, r.start, {others} FROM {source} x JOIN span_rows r USING (file_id, t) "
                      "GROUP BY r.file_id, r.start")  # fmt: skip
    t_top, _ = _time(con, top)
    t_spans, _ = _time(con, f"CREATE OR REPLACE TEMP TABLE span_rows AS WITH hits AS ({hits}), {spans}")
    n_span_rows = con.execute("SELECT count(*) FROM span_rows").fetchone()[0]
    t_others, _ = _time(con, others_sql)
    return {"top20_s": t_top, "spans_s": t_spans, "others_s": t_others, "span_rows": n_span_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "corpus",
        type=recorded_corpus,
        help=f"a folder written by record-corpus, holding units {A} and {B} of {NAME} (e.g. `{RECORD}`)",
    )
    parser.add_argument("--long-chars", type=positive_int, default=100_000)
    args = parser.parse_args()
    root = Path(args.corpus)
    manifest = json.loads((root / "manifest.json").read_text())
    names, units = list(manifest["units"]), manifest["units"][NAME]
    shards = _shards(root)
    work = Path(tempfile.mkdtemp(prefix="bench_schema_"))
    results = {}
    try:
        # wide: the shards as record-corpus wrote them
        results["wide, all"] = queries("wide", str(root / "shards" / "*.parquet"), units)
        started = time.perf_counter()
        rows = convert(shards, work / "list", "list", names, units, None)
        list_write = time.perf_counter() - started
        results["list, all"] = queries("list", str(work / "list" / "*.parquet"), units)
        started = time.perf_counter()
        part_rows = convert(shards, work / "long", "long", names, units, args.long_chars)
        long_write = time.perf_counter() - started
        results[f"long, first {part_rows:,} rows"] = queries("long", str(work / "long" / "*.parquet"), units)
        sizes = {d: sum(p.stat().st_size for p in (work / d).glob("*.parquet")) for d in ("list", "long")}
        wide_size = sum(p.stat().st_size for p in shards)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    scale = rows / part_rows
    print(f"{rows:,} characters; long layout on the first {part_rows:,}, times scaled by {scale:.1f}")
    print(f"bytes: wide {wide_size / 1e9:.2f} GB, list {sizes['list'] / 1e9:.2f} GB, long "
          f"{sizes['long'] / 1e9 * scale:.2f} GB (scaled); rewrite took list {list_write:.0f} s, long "
          f"{long_write * scale:.0f} s (scaled)")  # fmt: skip
    print(f"{'layout':32s} {'top-20 of a unit':>18s} {'spans of 2 units':>18s} {'+ others on':>14s}")
    for label, r in results.items():
        f = scale if label.startswith("long") else 1.0
        print(f"{label:32s} {r['top20_s'] * f:17.3f}s {r['spans_s'] * f:17.3f}s {r['others_s'] * f:13.3f}s"
              f"   ({r['span_rows']:,} rows in spans)")  # fmt: skip
    print(json.dumps({"rows": rows, "long_rows": part_rows, "results": results}))


if __name__ == "__main__":
    main()
