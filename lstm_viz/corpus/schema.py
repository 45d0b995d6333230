"""The on-disk layout of a recorded corpus: folder, manifest, shard schema and column names.

```
DIR/manifest.json        what was recorded: model (fingerprint), files, tensors, dtype, the chunk plan, shards
DIR/files.parquet        file_id, name, chars, text: one row per file (the recorded characters)
DIR/shards/part-NNNNN.parquet   one row per (file, t): file_id, t, ch, then one column per unit
DIR/unit_stats.parquet   one row per (name, unit): mean, std, saturation, top-k positions (after the last shard)
DIR/_state/part-NNNNN.npz      the state carried out of each shard, for resuming (engines skip `_` folders)
```

A unit's column is its recording name with ``_`` for ``.`` and its unit index: ``layer0.fwd.c`` unit 66 →
``layer0_fwd_c_66`` — a plain SQL identifier in DuckDB, Spark SQL, Trino and pandas alike. Values are Parquet
FLOAT (float32) or FLOAT16 (half), plain-encoded, zstd-compressed; one row group per recorded chunk. Rows in a row
group are in (file_id, t) order; ``t`` is the character's index in its file and the row holds the state *after*
reading that character.

An index for match: per name and *on-threshold* (0.3 by default, LSTMVis's), which units are on (value >
threshold) at the row, as int64 words — ``layer0_fwd_c_on0p3_0`` … ``_5`` for 384 units, bit j of word w being unit
64·w + j. Counting the units on throughout a span is then ``bit_count(bit_and(word))`` over its rows, instead of
reading every unit's column.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from lstm_viz.corpus.errors import CorpusError
from lstm_viz.corpus.stats import TOP_K
from lstm_viz.paths import write_atomically

__all__ = [
    "DTYPES",
    "FORMAT",
    "KEY_COLUMNS",
    "METADATA_KEY",
    "VERSION",
    "files_path",
    "manifest_path",
    "meta_or_none",
    "on_column",
    "on_words",
    "parse_unit_column",
    "read_manifest",
    "shard_name",
    "shard_schema",
    "shards_dir",
    "state_path",
    "stats_path",
    "stored_meta",
    "unit_column",
    "write_manifest",
]

FORMAT = "lstm-viz/corpus"
VERSION = 1
METADATA_KEY = b"lstm_viz.corpus"  # key-value metadata of every shard: format, model fingerprint, plan digest, index
KEY_COLUMNS: tuple[str, ...] = ("file_id", "t", "ch")
DTYPES: dict[str, pa.DataType] = {"float16": pa.float16(), "float32": pa.float32()}
_UNIT_COLUMN = re.compile(r"^layer(\d+)_(fwd|bwd)_([a-z])_(\d+)$")


def unit_column(name: str, unit: int) -> str:
    """``("layer0.fwd.c", 66)`` → ``"layer0_fwd_c_66"``."""
    return f"{name.replace('.', '_')}_{unit}"


def parse_unit_column(column: str) -> tuple[str, int] | None:
    """``"layer0_fwd_c_66"`` → ``("layer0.fwd.c", 66)``; None for the key columns."""
    m = _UNIT_COLUMN.match(column)
    return (f"layer{m[1]}.{m[2]}.{m[3]}", int(m[4])) if m else None


def on_column(name: str, threshold: float, word: int) -> str:
    """The column of word ``word`` of ``name``'s on-bits at ``threshold``: ``layer0_fwd_c_on0p3_0``."""
    tag = repr(float(threshold) + 0.0).replace("-", "m").replace(".", "p").replace("+", "")  # -0.0 is 0.0
    return f"{name.replace('.', '_')}_on{tag}_{word}"


def on_words(by_unit: np.ndarray, threshold: float) -> np.ndarray:
    """Which units are on (value > threshold, compared exactly) at each row, packed: ``by_unit`` (units, rows)
    float32 → (ceil(units / 64), rows) int64 whose bit j of word w is unit 64·w + j."""
    edge = np.float32(threshold)
    if float(edge) > threshold:  # v > threshold ⟺ v > the largest float32 ≤ threshold, for float32 v
        edge = np.nextafter(edge, np.float32(-np.inf))
    units, rows = by_unit.shape
    words = -(-units // 64)
    bits = np.zeros((words * 64, rows), bool)
    np.greater(by_unit, edge, out=bits[:units])
    packed = np.packbits(bits, axis=0, bitorder="little")  # (words·8, rows) bytes, unit-major
    return np.ascontiguousarray(packed.T).view("<i8").T  # (words, rows)


def stored_meta(schema: pa.Schema) -> dict | None:
    """The lstm-viz metadata a Parquet file's schema carries (a shard, files.parquet, unit_stats.parquet: format,
    model fingerprint, plan digest): None when it carries none; ValueError when it is there but not a JSON object
    (damaged). One reader for the recording's files and ``open_corpus``."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        return None
    meta = json.loads(raw)  # json.JSONDecodeError is a ValueError
    if not isinstance(meta, dict):
        raise ValueError(f"{METADATA_KEY.decode()} metadata is not a JSON object")
    return meta


def meta_or_none(schema: pa.Schema) -> dict | None:
    """``stored_meta``, with damaged metadata read as none: for the checks to which a file whose metadata is damaged
    is as little a file of this recording as one that carries none."""
    try:
        return stored_meta(schema)
    except ValueError:
        return None


def shard_schema(
    units: Mapping[str, int], dtype: str, metadata: dict | None = None, on_thresholds: Sequence[float] = ()
) -> pa.Schema:
    """file_id int32, t int32, ch string, then one ``dtype`` column per unit of each name (``{name: units}``), then
    per name and on-threshold the int64 words of its on-bits (``on_words``)."""
    fields = [pa.field("file_id", pa.int32(), nullable=False), pa.field("t", pa.int32(), nullable=False),
              pa.field("ch", pa.string(), nullable=False)]  # fmt: skip
    fields += [pa.field(unit_column(n, u), DTYPES[dtype], nullable=False) for n, k in units.items() for u in range(k)]
    fields += [pa.field(on_column(n, thr, w), pa.int64(), nullable=False)
               for n, k in units.items() for thr in on_thresholds for w in range(-(-k // 64))]  # fmt: skip
    schema = pa.schema(fields)
    return schema.with_metadata({METADATA_KEY: json.dumps(metadata).encode()}) if metadata else schema


# ---------------------------------------------------------------------------------------------------- paths
def manifest_path(root: Path) -> Path:
    return root / "manifest.json"


def files_path(root: Path) -> Path:
    return root / "files.parquet"


def stats_path(root: Path) -> Path:
    return root / "unit_stats.parquet"


def shards_dir(root: Path) -> Path:
    return root / "shards"


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def state_path(root: Path, index: int) -> Path:
    return root / "_state" / f"part-{index:05d}.npz"


# ---------------------------------------------------------------------------------------------------- writing
def write_manifest(root: Path, manifest: dict) -> None:
    write_atomically(manifest_path(root), (json.dumps(manifest, indent=1) + "\n").encode())


def read_manifest(root: Path) -> dict:
    """The manifest of the corpus folder ``root``; CorpusError (one line) when there is none or it is not ours."""
    if not root.exists():
        raise CorpusError(f"corpus folder {str(root)!r} not found")
    if not root.is_dir():
        raise CorpusError(f"{root} is not a folder; give the --out folder of record-corpus")
    path = manifest_path(root)
    if not path.is_file():
        raise CorpusError(f"{root} is not a recorded corpus (no manifest.json); record one with "
                          f"`python -m lstm_viz record-corpus MODEL --stdlib --out {root}`")  # fmt: skip
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:  # ValueError: a 5,000-digit number too
        raise CorpusError(f"{path} is unreadable ({type(err).__name__}); record the corpus again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CorpusError(f"{path} is not an lstm-viz corpus manifest")
    if manifest.get("version") != VERSION:
        raise CorpusError(f"{path} has format version {manifest.get('version')}; this lstm-viz reads {VERSION}")
    problem = _manifest_problem(manifest)
    if problem:
        raise CorpusError(f"{path} is inconsistent ({problem}): edited or damaged; record the corpus again into a "
                          "new --out folder")  # fmt: skip
    return manifest


def _whole(value: object, least: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _manifest_problem(m: dict) -> str | None:
    """What in a manifest of the right format and version does not hold together (None: nothing)."""
    files, units, shard_chars = m.get("files"), m.get("units"), m.get("shard_chars")
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("name"), str) and _whole(f.get("chars"))
        and isinstance(f.get("sha256"), str) for f in files
    ):  # fmt: skip
        return "'files' must list each file's name, chars and sha256"
    if not isinstance(units, dict) or not units or not all(
        isinstance(k, str) and _whole(v, 1) for k, v in units.items()
    ):
        return "'units' must give each recorded name its number of units"
    if not isinstance(m.get("model"), dict) or not isinstance(m["model"].get("fingerprint"), str):
        return "'model' has no fingerprint"
    if not isinstance(m["model"].get("path", ""), str):
        return "'model' has a path that is not text"
    thresholds = m.get("on_thresholds", [])
    if not isinstance(thresholds, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in thresholds
    ):
        return "'on_thresholds' must list numbers"
    if not isinstance(m.get("plan_digest"), str):
        return "no 'plan_digest'"
    if not _whole(m.get("num_shards"), 1) or not isinstance(shard_chars, list) or len(shard_chars) != m["num_shards"]:
        return f"num_shards {m.get('num_shards')!r}, but shard_chars lists {len(shard_chars or [])} shards"
    if not all(_whole(c) for c in shard_chars) or not _whole(m.get("total_chars")):
        return "'shard_chars' and 'total_chars' must be whole numbers"
    total, in_shards, in_files = m["total_chars"], sum(shard_chars), sum(f["chars"] for f in files)
    if in_shards != total or in_files != total:
        return f"total_chars {total:,}, but the shards hold {in_shards:,} and the files {in_files:,}"
    if m.get("stats_top_k", TOP_K) != TOP_K:
        return f"stats_top_k {m.get('stats_top_k')!r}; record-corpus keeps {TOP_K} places per unit"
    return None
