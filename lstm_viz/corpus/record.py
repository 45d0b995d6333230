"""Record a whole corpus through a character LSTM into Parquet shards, in bounded memory, resumably.

``record_corpus(model_path, files, out)`` streams the files through the model as the plan says (``plan.py``: B
lanes, ``chunk_len`` characters per pass, state carried within a file), keeps the chosen tensors (c and h of every
layer by default) of every character, and writes them one row group per chunk into shards of
``chunks_per_shard`` chunks (``schema.py`` has the layout). Memory holds one chunk's recording, not the corpus.

Resume: a shard is written to a hidden temporary file and renamed when complete, after the state it carries out
(each lane's h and c, and the unit statistics so far) has been saved to ``_state/``. Running the same command
again skips every shard that exists with its state and goes on from the first missing one; a folder holding another
model's or another corpus's recording is refused, never mixed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from lstm_viz.core.device import torch_threads
from lstm_viz.core.recording import recording_names
from lstm_viz.corpus.errors import CorpusError
from lstm_viz.corpus.model import encode_text, load_text_model, model_summary
from lstm_viz.corpus.plan import Chunk, plan_chunks, shard_chunks
from lstm_viz.corpus.schema import (
    FORMAT,
    METADATA_KEY,
    VERSION,
    files_path,
    manifest_path,
    meta_or_none,
    on_words,
    read_manifest,
    shard_name,
    shard_schema,
    shards_dir,
    state_path,
    stats_path,
    write_manifest,
)
from lstm_viz.corpus.sources import SourceFile, read_text
from lstm_viz.corpus.stats import TOP_K, UnitStats
from lstm_viz.paths import write_atomically

__all__ = ["RECORDABLE", "record_corpus", "select_names"]

RECORDABLE: tuple[str, ...] = ("f", "i", "g", "o", "c", "h")


def select_names(summary: dict, tensors: Sequence[str], layers: Sequence[int] | None) -> dict[str, int]:
    """``{name: units}`` of the tensors and layers asked for, in recording-name order; CorpusError if unknown."""
    bad = [t for t in tensors if t not in RECORDABLE]
    if bad or not tensors:
        raise CorpusError(f"--tensors: {', '.join(bad) or 'none given'}; choose from {','.join(RECORDABLE)}")
    num_layers = summary["num_layers"]
    layers = list(range(num_layers)) if layers is None else list(layers)
    if not layers or any(not 0 <= k < num_layers for k in layers):
        raise CorpusError(f"--layers must be in 0..{num_layers - 1} for this model, got {layers}")
    units = {t: summary["proj_size"] or summary["hidden_size"] if t == "h" else summary["hidden_size"] for t in tensors}
    names = recording_names(num_layers, summary["bidirectional"], [t for t in RECORDABLE if t in tensors])
    return {n: units[n.rsplit(".", 1)[1]] for n in names if int(n.split(".")[0].removeprefix("layer")) in layers}


def _digest(values: object) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def _check_same(old: dict, new: dict, out: Path) -> None:
    """Refuse to resume into a folder that holds another recording; say what differs."""
    if old["plan_digest"] == new["plan_digest"]:
        return
    if old["model"]["fingerprint"] != new["model"]["fingerprint"]:
        why = f"another model (fingerprint {old['model']['fingerprint']}, this one {new['model']['fingerprint']})"
    elif [(f["name"], f["chars"], f["sha256"]) for f in old["files"]] != [
        (f["name"], f["chars"], f["sha256"]) for f in new["files"]
    ]:
        n = len(old["files"])
        why = f"another corpus ({n:,} file{'s' if n != 1 else ''}, {old['total_chars']:,} characters)"
    else:
        keys = ("names", "dtype", "on_thresholds", "batch", "chunk_len", "chunks_per_shard")
        differ = [f"{k}={old.get(k)} there, {new.get(k)} now" for k in keys if old.get(k) != new.get(k)]
        why = f"other settings ({'; '.join(differ)})" if differ else "these settings, but its manifest was edited"
    raise CorpusError(f"{out} already holds a recording of {why}; choose another --out or delete that folder")


FLOAT16_MAX = 65504.0  # the largest finite float16: a value past it is stored as inf


def _shard_done(out: Path, index: int, plan_digest: str) -> bool:
    """True when shard ``index`` and the state it carries out are both on disk and the shard is ours."""
    path = shards_dir(out) / shard_name(index)
    if not path.exists():
        return False
    try:
        schema = pq.read_schema(path)
    except Exception:  # unreadable footer: a damaged shard, written again
        path.unlink()
        return False
    meta = meta_or_none(schema)
    if meta is None:  # a readable Parquet file that is not ours: not ours to delete
        raise CorpusError(f"{path} is not a shard written by record-corpus; remove it or choose another --out")
    if meta.get("plan") != plan_digest:
        raise CorpusError(f"{path} belongs to another recording (model {meta.get('model')}); remove it or "
                          "choose another --out")  # fmt: skip
    if meta.get("shard", index) != index:  # another shard of this recording, copied over this one: written again
        path.unlink()
        return False
    return _state_ours(state_path(out, index), index, plan_digest)


_STATE_OF = "state_of"  # in a shard's state file: [plan digest, shard index]


def _state_ours(path: Path, index: int, plan_digest: str) -> bool:
    """Whether the state file ``path`` is there, readable and written for shard ``index`` of this plan; a damaged or
    foreign one is removed (its shard is then recorded again)."""
    if not path.exists():
        return False
    try:
        with np.load(path, allow_pickle=False) as arrays:
            of = arrays[_STATE_OF].tolist() if _STATE_OF in arrays.files else None
    except Exception:  # garbage, truncated, pickled objects: not a state this run can carry on from
        of = ["damaged"]
    if of is None or of == [plan_digest, str(index)]:  # (None: a state from before the digest was stored)
        return True
    path.unlink()
    return False


@dataclass
class _Rows:
    """One chunk's rows in (file_id, t) order and its values as they are stored, ``{name: (units, rows)}``."""

    chunk: Chunk
    file_id: np.ndarray
    t: np.ndarray
    ch: np.ndarray
    values: dict[str, torch.Tensor]


class _Lanes:
    """The model, the lanes' carried state (h, c), the statistics so far and the texts being read."""

    def __init__(self, model, files: Sequence[SourceFile], chunks: Sequence[Chunk], names: dict[str, int],
                 dtype: str, summary: dict, batch: int, on_thresholds: Sequence[float]) -> None:  # fmt: skip
        self.model, self.files, self.names, self.dtype = model, files, names, dtype
        self.on_thresholds = list(on_thresholds)
        directions = 2 if summary["bidirectional"] else 1
        self.h = torch.zeros(summary["num_layers"] * directions, batch, summary["proj_size"] or summary["hidden_size"])
        self.c = torch.zeros(summary["num_layers"] * directions, batch, summary["hidden_size"])
        self.stats = UnitStats(names)
        self.last_chunk = {s.file_id: chunk.index for chunk in chunks for s in chunk.segments}
        self.texts: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # file_id → (token ids, characters)

    # ------------------------------------------------------------------ resume
    def save(self, out: Path, index: int, plan_digest: str) -> None:
        buffer = io.BytesIO()  # the plan and shard it belongs to: a state copied from elsewhere is not taken
        np.savez(buffer, h=self.h.numpy(), c=self.c.numpy(), **{_STATE_OF: np.array([plan_digest, str(index)])},
                 **self.stats.arrays())  # fmt: skip
        write_atomically(state_path(out, index), buffer.getvalue())

    def load(self, out: Path, index: int) -> None:
        with np.load(state_path(out, index)) as arrays:
            self.stats.load_arrays({k: arrays[k] for k in arrays.files if "|" in k})
            self.h, self.c = torch.from_numpy(arrays["h"].copy()), torch.from_numpy(arrays["c"].copy())

    # ------------------------------------------------------------------ one chunk
    def _text(self, file_id: int) -> tuple[np.ndarray, np.ndarray]:
        if file_id not in self.texts:
            text = read_text(self.files[file_id])
            self.texts[file_id] = (encode_text(self.model, text), np.array(list(text), dtype=object))
        return self.texts[file_id]

    @torch.no_grad()
    def forward(self, chunk: Chunk) -> _Rows:
        """One forward pass of ``chunk`` with the lanes' state carried in and out; its rows, values as stored."""
        segments = chunk.segments
        lanes = torch.tensor([s.lane for s in segments])
        x = torch.zeros(len(segments), chunk.steps, dtype=torch.long)  # padding past a file's end: dropped
        file_id, t, ch = [], [], []
        for b, s in enumerate(segments):
            ids, chars = self._text(s.file_id)
            x[b, : s.length] = torch.from_numpy(ids[s.start : s.stop])
            file_id.append(np.full(s.length, s.file_id, np.int32))
            t.append(np.arange(s.start, s.stop, dtype=np.int32))
            ch.append(chars[s.start : s.stop])
        fresh = torch.tensor([s.fresh for s in segments])
        h0, c0 = self.h[:, lanes], self.c[:, lanes]  # (layers·directions, lanes, units)
        h0[:, fresh], c0[:, fresh] = 0.0, 0.0  # a file starts from a zero state
        rec = self.model.record(x, (h0, c0))
        self.h[:, lanes], self.c[:, lanes] = rec.h_n, rec.c_n
        for s in segments:
            if self.last_chunk[s.file_id] == chunk.index:
                self.texts.pop(s.file_id, None)
        store = torch.float16 if self.dtype == "float16" else torch.float32
        values = {}
        for name in self.names:
            steps = rec[name]  # (lanes, T, units)
            kept = torch.cat([steps[b, : s.length] for b, s in enumerate(segments)])  # (rows, units): no padding
            if store == torch.float16 and kept.numel():  # a value past float16's range would be stored as inf
                lo, hi = torch.aminmax(kept)  # one pass, no temporary (kept.abs() was 50 MB a chunk)
                peak = max(-float(lo), float(hi))
                if peak > FLOAT16_MAX:
                    raise CorpusError(f"{name} reaches {peak:.4g}, beyond float16's range (±{FLOAT16_MAX:,.0f}); "
                                      "record with --dtype float32")  # fmt: skip
            values[name] = kept.to(store).T.contiguous()  # (units, rows): one column per unit
        return _Rows(chunk, np.concatenate(file_id), np.concatenate(t), np.concatenate(ch), values)

    def table(self, rows: _Rows, schema: pa.Schema) -> pa.Table:
        """The unit statistics updated with ``rows``, and ``rows`` as an Arrow table (one column per unit)."""
        columns = [pa.array(rows.file_id), pa.array(rows.t), pa.array(rows.ch, type=pa.string())]
        on_columns = []
        for name, stored in rows.values.items():  # (units, rows)
            as_float = stored.float().numpy()
            self.stats.update(name, as_float, rows.file_id, rows.t)
            by_unit = stored.numpy()
            columns.extend(pa.array(by_unit[u]) for u in range(by_unit.shape[0]))
            for threshold in self.on_thresholds:
                on_columns.extend(pa.array(words) for words in on_words(as_float, threshold))
        return pa.Table.from_arrays(columns + on_columns, schema=schema)


def _write_shard(out: Path, index: int, chunks: list[Chunk], lanes: _Lanes, schema: pa.Schema,
                 pool: ThreadPoolExecutor, progress: Callable[[int], None] | None) -> Path:  # fmt: skip
    """Write one shard to a hidden temporary file, one row group per chunk, and return that file (the caller
    renames it once the state it carries out is saved).

    Two stages overlap: this thread runs the model on chunk k+1 while ``pool``'s one thread updates the unit
    statistics with chunk k and writes it (PyTorch, NumPy and Arrow let go of the GIL in their loops), so a second
    core, where there is one, takes the Parquet and statistics work. At most one chunk waits to be written.
    """
    tmp = shards_dir(out) / f".{shard_name(index)}.tmp"
    writer = pq.ParquetWriter(tmp, schema, compression="zstd", use_dictionary=["ch"],
                              write_statistics=["file_id", "t"])  # fmt: skip

    def write(rows: _Rows) -> int:
        table = lanes.table(rows, schema)
        writer.write_table(table, row_group_size=max(table.num_rows, 1))
        return rows.chunk.rows

    def written(future: Future) -> None:  # the chunk before is on disk: say so
        chars = future.result()
        if progress is not None:
            progress(chars)

    pending: Future | None = None
    try:
        for chunk in chunks:
            rows = lanes.forward(chunk)
            if pending is not None:
                written(pending)
            pending = pool.submit(write, rows)
            del rows
        if pending is not None:
            written(pending)
    except BaseException:
        if pending is not None:
            wait([pending])  # the writer is not closed under the worker's feet
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    return tmp


def _ours(path: Path, plan_digest: str) -> bool:
    """Whether ``path`` is a Parquet file whose footer reads and that this recording wrote (its plan digest)."""
    try:
        meta = meta_or_none(pq.read_schema(path))
    except Exception:  # missing, truncated, not Parquet, damaged metadata: pyarrow and json raise several kinds
        return False
    return meta is not None and meta.get("plan") == plan_digest


def _part_bytes(table: pa.Table, manifest: dict, part: str) -> bytes:
    """``table`` as zstd Parquet with the recording's plan digest in its metadata (``open_corpus`` checks it)."""
    meta = {"format": FORMAT, "version": VERSION, "plan": manifest["plan_digest"], "part": part}
    buffer = io.BytesIO()
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(meta).encode()})
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def record_corpus(
    model_path: str | Path,
    files: Sequence[SourceFile],
    out: str | Path,
    *,
    source: dict | None = None,
    skipped: dict | None = None,
    tensors: Sequence[str] = ("c", "h"),
    layers: Sequence[int] | None = None,
    dtype: str = "float16",
    on_thresholds: Sequence[float] = (0.3,),
    batch: int = 16,
    chunk_len: int = 512,
    chunks_per_shard: int = 8,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    stop_after_shards: int | None = None,
) -> dict:
    """Record ``files`` with the model at ``model_path`` into the folder ``out`` (resuming what is there).

    ``progress(chars)`` is called after every chunk; ``on_start(total_chars, chars_already_done)`` once before the
    first; ``threads``: PyTorch's CPU threads while recording (None: as set); ``on_thresholds``: the thresholds
    whose on-bits are stored for match (``schema.on_words``). ``stop_after_shards`` stops after
    writing that many shards (to test resuming). Returns a summary dict.
    """
    if threads is not None and threads < 1:
        raise CorpusError(f"--threads must be at least 1, got {threads}")
    with torch_threads(threads), _writing(Path(out)):
        return _record_corpus(model_path, files, out, source, skipped, tensors, layers, dtype, on_thresholds, batch,
                              chunk_len, chunks_per_shard, progress, on_start, stop_after_shards)  # fmt: skip


LOCK_NAME = ".lock"  # in the --out folder: held (flock) by the one record-corpus writing it


@contextlib.contextmanager
def _writing(out: Path) -> Iterator[None]:
    """Hold the folder's lock while recording into it: a second record-corpus into the same folder is refused (it
    would write the same temporary files). The lock is the kernel's (``flock``): a killed run holds it no more.
    Where there is no ``fcntl`` (Windows) nothing is locked."""
    if out.exists() and not out.is_dir():
        raise CorpusError(f"--out {out} is a file; give a folder")
    try:
        import fcntl
    except ImportError:
        yield
        return
    made = [p for p in (out, *out.parents) if not p.exists()]  # the folders this run makes, the deepest first
    try:
        out.mkdir(parents=True, exist_ok=True)
        made_lock = not (out / LOCK_NAME).exists()
        lock = open(out / LOCK_NAME, "a+b")  # noqa: SIM115 (closed by the with below)
    except OSError as err:
        raise CorpusError(f"cannot write in the folder {out} for --out: {err.strerror or err}; choose another "
                          "--out") from None  # fmt: skip
    with lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CorpusError(f"another record-corpus is writing {out} now; wait until it ends (or stop it), or "
                              "choose another --out") from None  # fmt: skip
        try:
            yield
        except BaseException as err:
            # Refused or stopped before it began a recording (a bad model, a busy folder, Ctrl-C): the lock file
            # and the folder this run made go again (removed while the lock is held, so no later run holds an
            # unlinked one). Failed (not stopped) with no shard written, in a folder it made: all of it goes, so
            # that the command can be run again with other settings (out of memory with --batch 100000000).
            failed = not isinstance(err, KeyboardInterrupt) and out in made
            if failed and not any(shards_dir(out).glob("*.parquet")):
                (out / LOCK_NAME).unlink(missing_ok=True)
                shutil.rmtree(out, ignore_errors=True)
            elif made_lock and not manifest_path(out).exists():
                (out / LOCK_NAME).unlink(missing_ok=True)
            for folder in made:  # --out a/b/c: c, then b, then a, each only if it is (now) empty
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _record_corpus(model_path, files, out, source, skipped, tensors, layers, dtype, on_thresholds, batch, chunk_len,
                   chunks_per_shard, progress, on_start, stop_after_shards) -> dict:  # fmt: skip
    if dtype not in ("float16", "float32"):
        raise CorpusError(f"--dtype must be float16 or float32, got {dtype!r}")
    if batch < 1 or chunk_len < 1 or chunks_per_shard < 1:
        raise CorpusError("--batch, --chunk-len and --chunks-per-shard must be at least 1")
    on_thresholds = sorted({float(v) + 0.0 for v in on_thresholds})  # + 0.0: -0.0 is 0.0, one column name
    out = Path(out)  # a file there was refused by _writing
    started = time.perf_counter()
    model = load_text_model(model_path)
    summary = model_summary(model, model_path)
    names = select_names(summary, tensors, layers)
    chunks = list(plan_chunks([f.chars for f in files], batch, chunk_len))
    shards = shard_chunks(chunks, chunks_per_shard)
    identity = {
        "model": summary["fingerprint"], "files": [(f.name, f.chars, f.sha256) for f in files], "names": names,
        "dtype": dtype, "batch": batch, "chunk_len": chunk_len, "chunks_per_shard": chunks_per_shard,
        "on_thresholds": on_thresholds,
    }  # fmt: skip
    manifest = {
        "format": FORMAT, "version": VERSION, "plan_digest": _digest(identity), "complete": False,
        "model": summary, "source": source or {}, "files": [f.to_dict() for f in files], "skipped": skipped or {},
        "total_chars": sum(f.chars for f in files), "names": list(names), "units": names, "dtype": dtype,
        "on_thresholds": on_thresholds,
        "batch": batch, "chunk_len": chunk_len, "chunks_per_shard": chunks_per_shard, "num_chunks": len(chunks),
        "num_shards": len(shards), "stats_top_k": TOP_K,
        "shard_chars": [sum(c.rows for c in shard) for shard in shards],
    }  # fmt: skip
    if manifest_path(out).exists():
        old = read_manifest(out)
        _check_same(old, manifest, out)
        # The same plan: what it determines is taken from it, not from the file (a hand-edited manifest that still
        # held together was kept as it was, and the queries then refused the files.parquet that did not match it).
        planned = {k: v for k, v in manifest.items() if k not in ("complete", "source")}
        manifest = {**old, **planned, "source": manifest["source"]}
        if manifest != {**old, "source": manifest["source"]}:
            write_manifest(out, manifest)
    else:
        if out.exists() and any(p.name != LOCK_NAME for p in out.iterdir()):
            raise CorpusError(f"--out {out} is a folder with other files in it; give a new or empty folder")
        write_manifest(out, manifest)
    if not _ours(files_path(out), manifest["plan_digest"]):  # missing, damaged or foreign: written (again)
        table = pa.table({"file_id": pa.array(np.arange(len(files), dtype=np.int32)),
                          "name": [f.name for f in files], "chars": pa.array([f.chars for f in files], pa.int64()),
                          "text": [read_text(f) for f in files]})  # fmt: skip
        write_atomically(files_path(out), _part_bytes(table, manifest, "files"))
    shards_dir(out).mkdir(parents=True, exist_ok=True)

    done = [_shard_done(out, s, manifest["plan_digest"]) for s in range(len(shards))]
    first = next((s for s, ok in enumerate(done) if not ok), len(shards))
    lanes = _Lanes(model, files, chunks, names, dtype, summary, batch, on_thresholds)
    if first > 0:
        lanes.load(out, first - 1)
    if on_start is not None:
        on_start(manifest["total_chars"], sum(manifest["shard_chars"][:first]))
    meta = {"format": FORMAT, "version": VERSION, "model": summary["fingerprint"], "plan": manifest["plan_digest"]}
    written, reused, recorded = 0, first, 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpus-writer") as pool:
        for index in range(first, len(shards)):
            if done[index]:  # a later shard is there (an earlier one was removed): take its state and skip it
                lanes.load(out, index)
                reused += 1
                continue
            if stop_after_shards is not None and written >= stop_after_shards:
                return {"out": str(out), "complete": False, "shards_written": written, "shards_reused": reused}
            schema = shard_schema(names, dtype, {**meta, "shard": index}, on_thresholds)
            tmp = _write_shard(out, index, shards[index], lanes, schema, pool, progress)
            lanes.save(out, index, manifest["plan_digest"])  # the state first: a shard on disk always has its state
            tmp.replace(shards_dir(out) / shard_name(index))
            written += 1
            recorded += manifest["shard_chars"][index]

    if written or not _ours(stats_path(out), manifest["plan_digest"]):
        if not written and shards:  # everything was there: the statistics are in the last shard's state
            lanes.load(out, len(shards) - 1)
        table = pa.Table.from_pandas(lanes.stats.table(), preserve_index=False)
        write_atomically(stats_path(out), _part_bytes(table, manifest, "stats"))
    seconds = time.perf_counter() - started
    shard_bytes = [(shards_dir(out) / shard_name(s)).stat().st_size for s in range(len(shards))]
    manifest.update(complete=True, shard_bytes=shard_bytes)
    write_manifest(out, manifest)
    return {
        "out": str(out), "complete": True, "files": len(files), "chars": manifest["total_chars"],
        "chars_recorded_now": recorded, "shards": len(shards), "shards_written": written, "shards_reused": reused,
        "names": list(names), "dtype": dtype, "bytes": sum(shard_bytes), "seconds": round(seconds, 3),
        "chars_per_second": round(recorded / seconds, 1) if recorded else None,
        "lane_use": round(sum(c.rows for c in chunks) / max(sum(c.steps for c in chunks) * batch, 1), 4),
    }  # fmt: skip
