"""The recording plan: which characters of which files go through the model together, chunk after chunk.

B *lanes* run side by side as one batch. Each lane reads one file at a time, ``chunk_len`` characters per chunk,
with the LSTM state carried from chunk to chunk; when its file ends it takes the next file and starts from a zero
state (a file ending inside a chunk leaves the rest of that lane's chunk as padding, computed and dropped). Files
are taken longest first: a file is one sequential stream, so the long ones must start early for the lanes to stay
busy to the end (the whole standard library keeps 16 lanes 99.9 % busy this way, 61 % in path order). A file
longer than the corpus's share per lane still leaves the others idle at the end. The plan depends only on the
files' lengths, ``lanes`` and ``chunk_len``, so a resumed run finds every chunk where the first run put it.
Shard s holds chunks ``[s·chunks_per_shard, (s+1)·chunks_per_shard)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

__all__ = ["Chunk", "Segment", "plan_chunks", "shard_chunks"]


@dataclass(frozen=True)
class Segment:
    """Characters ``[start, stop)`` of file ``file_id``, read by ``lane``; ``fresh``: the file starts here."""

    lane: int
    file_id: int
    start: int
    stop: int

    @property
    def fresh(self) -> bool:
        return self.start == 0

    @property
    def length(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Chunk:
    """One forward pass: its segments in file order (the batch order, and the order of the rows written)."""

    index: int
    segments: tuple[Segment, ...]

    @property
    def steps(self) -> int:
        """T of the pass: the longest segment."""
        return max(s.length for s in self.segments)

    @property
    def rows(self) -> int:
        """Characters recorded (rows written): padding left out."""
        return sum(s.length for s in self.segments)


def plan_chunks(chars: Sequence[int], lanes: int, chunk_len: int) -> Iterator[Chunk]:
    """Every chunk of a corpus whose files have ``chars`` characters each, in order."""
    if lanes < 1 or chunk_len < 1:
        raise ValueError(f"lanes and chunk_len must be at least 1, got {lanes} and {chunk_len}")
    queue = iter(sorted(range(len(chars)), key=lambda f: (-chars[f], f)))  # longest first
    reading: list[list[int] | None] = [None] * lanes  # per lane: [file_id, position]
    index = 0
    while True:
        segments = []
        for lane in range(lanes):
            current = reading[lane]
            if current is None or current[1] >= chars[current[0]]:
                file_id = next(queue, None)
                while file_id is not None and chars[file_id] == 0:
                    file_id = next(queue, None)
                current = reading[lane] = None if file_id is None else [file_id, 0]
            if current is None:
                continue
            file_id, start = current
            stop = min(start + chunk_len, chars[file_id])
            segments.append(Segment(lane, file_id, start, stop))
            current[1] = stop
        if not segments:
            return
        yield Chunk(index, tuple(sorted(segments, key=lambda s: s.file_id)))
        index += 1


def shard_chunks(chunks: Sequence[Chunk], chunks_per_shard: int) -> list[list[Chunk]]:
    """The chunks grouped into shards of ``chunks_per_shard`` (the last one may hold fewer)."""
    return [list(chunks[k : k + chunks_per_shard]) for k in range(0, len(chunks), chunks_per_shard)]
