"""External sorting for tables that outgrow memory.

A `SpillingCounter` (counts are summed) or a `SpillingDict` (the first value of a key wins) holds string keys.
Once it has more than `max_entries` keys, it writes them, sorted, to a run file (TSV lines: key, tab, value) and
starts afresh. `items()` k-way merges the runs and the keys still in memory (`heapq.merge`), combining the values
of equal keys, into one stream sorted by key: the rows, and their order, that sorting the table would give had it
stayed in memory.

A key may hold several TSV fields joined by tabs ("anchor\ttarget": a str sorts and hashes much faster than a
tuple). Keys then sort as the tuples of their fields would, provided no field contains a tab, a line break or a
character below tab (U+0000-U+0008); values hold no tab or line break. Keeping such fields out is the caller's job.

Run files go to a directory the caller owns and removes (e.g. a `tempfile.TemporaryDirectory`).
"""

from __future__ import annotations

import heapq
import itertools
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Tuple

Row = Tuple[str, Any]
MAX_OPEN_RUNS = 64  # runs merged at once; more are first merged into one run


class _SpillingTable:
    """Keys in memory up to `max_entries`, sorted runs on disk beyond; see the module docstring."""

    parse: Callable[[str], Any] = str  # a value as read back from a run file

    def __init__(self, directory: Path, name: str, max_entries: int):
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self.directory = Path(directory)
        self.name = name
        self.max_entries = max_entries
        self.data: Dict[str, Any] = {}
        self.runs: List[Path] = []  # oldest first
        self.runs_written = 0

    def combine(self, values: List[Any]) -> Any:
        """The value of a key from its values in the runs, oldest first."""
        raise NotImplementedError

    def spill_if_full(self) -> None:
        if len(self.data) > self.max_entries:
            self.spill()

    def spill(self) -> None:
        """Write the keys in memory to a new sorted run and forget them."""
        if not self.data:
            return
        self._write_run(sorted(self.data.items(), key=itemgetter(0)))
        self.data = {}
        if len(self.runs) >= MAX_OPEN_RUNS:
            old, self.runs = self.runs, []
            self._write_run(self._merge(old))
            for path in old:
                path.unlink()

    def items(self) -> Iterator[Row]:
        """Every (key, value), sorted by key, equal keys combined. Call it once, after the last update."""
        rows, self.data = sorted(self.data.items(), key=itemgetter(0)), {}
        if not self.runs:  # nothing spilled: the keys are distinct, nothing to merge or combine
            return iter(rows)
        return self._merge(self.runs, rows)

    def _write_run(self, rows: Iterable[Row]) -> None:
        path = self.directory / f"{self.name}-{self.runs_written:06d}.tsv"
        with open(path, "w", encoding="utf8", newline="\n") as f:
            f.writelines(f"{key}\t{value}\n" for key, value in rows)
        self.runs.append(path)
        self.runs_written += 1

    def _read_run(self, path: Path) -> Iterator[Row]:
        with open(path, encoding="utf8", newline="\n") as f:
            for line in f:
                key, value = line[:-1].rsplit("\t", 1)
                yield key, self.parse(value)

    def _merge(self, runs: List[Path], *more: Iterable[Row]) -> Iterator[Row]:
        # heapq.merge is stable: rows of equal keys come in the order of `runs`, then `more` (oldest first).
        merged = heapq.merge(*(self._read_run(path) for path in runs), *more, key=itemgetter(0))
        for key, group in itertools.groupby(merged, key=itemgetter(0)):
            yield key, self.combine([value for _, value in group])


class SpillingCounter(_SpillingTable):
    """Counts of string keys, summed across spilled runs."""

    parse = int

    def update(self, counts: Mapping[str, int]) -> None:
        data = self.data
        for key, n in counts.items():
            data[key] = data.get(key, 0) + n
        self.spill_if_full()

    def add(self, key: str, n: int = 1) -> None:
        data = self.data
        if key in data:  # no new key: nothing to spill
            data[key] += n
        else:
            data[key] = n
            self.spill_if_full()

    def combine(self, values: List[int]) -> int:
        return sum(values)


class SpillingDict(_SpillingTable):
    """A string -> string mapping where the first value set for a key wins (like dict.setdefault)."""

    def setdefault(self, key: str, value: str) -> None:
        self.data.setdefault(key, value)
        self.spill_if_full()

    def combine(self, values: List[str]) -> str:
        return values[0]
