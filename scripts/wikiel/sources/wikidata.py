"""Parse a Wikidata entity dump into the few fields the entity linker needs, streaming.

Reads the real dump layout (`[`, one entity per line ending in `,`, `]`), newline-delimited entity JSON,
API responses (`{"entities": {...}}`, also as one pretty-printed document) and bare entity files, plain,
gzip or bzip2. Input in the dump layout must end with its `]` line (else it was cut: an InputError, no output);
newline-delimited input has no end marker and cannot be checked. An entity id seen before (in the same file or
an earlier one) is skipped: the first occurrence is kept. Writes to the output directory:

- `entities.jsonl`: one line per kept item (an item with a `<lang>wiki` sitelink that is not a Wikimedia
  page such as a disambiguation page or category), in input order;
- `subclass_of.tsv`: `child<TAB>parent` for every P279 claim of every entity;
- `stats.json`: counts, seconds and peak memory.

With n_process > 1 the main process reads and pre-filters lines and worker processes parse them; the
output is identical to n_process = 1.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import io
import multiprocessing
import os
import zlib
from pathlib import Path
from typing import IO, Any, Callable, Dict, Generator, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import orjson
from tqdm import tqdm

from wikiel import defaults
from wikiel.util import (
    InputError,
    OutputError,
    PathLike,
    StepStats,
    atomic_open,
    compression_of,
    ignore_interrupts,
    open_dump,
    writes_step,
)

# P31 (instance of) classes of items that are Wikimedia pages, not things in the world.
META_CLASSES = frozenset(
    {
        "Q4167410",  # Wikimedia disambiguation page
        "Q22808320",  # Wikimedia human name disambiguation page
        "Q4167836",  # Wikimedia category
        "Q15407973",  # Wikimedia disambiguation category
        "Q13406463",  # Wikimedia list article
        "Q15623926",  # Wikimedia set index article
        "Q11266439",  # Wikimedia template
        "Q11753321",  # Wikimedia navigational template
        "Q15184295",  # Wikimedia module
        "Q14204246",  # Wikimedia project page
        "Q17442446",  # Wikimedia internal item
        "Q17362920",  # Wikimedia duplicated page
    }
)

ENTITIES_FILE = "entities.jsonl"
SUBCLASS_FILE = "subclass_of.tsv"
STATS_FILE = "stats.json"

BATCH_BYTES = 2 << 20  # bytes of pre-filtered lines per batch shipped to a worker
DOCUMENT_LIMIT = 256 << 20  # a file that is not line-delimited is parsed whole up to this size
PROGRESS_BYTES = 16 << 20  # update the progress bar after reading this many bytes
FIRST_BAD_LINES = 10  # bad line positions (and duplicate ids) remembered in stats.json
BITMAP_IDS = 1 << 30  # ids numbered below this are remembered in a bitmap (16 MB for Wikidata's 130 million items)
ENTITY_PREFIXES = {"item": "Q", "property": "P", "lexeme": "L"}
STRUCTURAL_LINES = (b"[", b"]", b"")
# What a truncated or corrupt input raises while being read (indexed_bzip2 raises RuntimeError).
READ_ERRORS = (EOFError, OSError, RuntimeError, zlib.error)
REFETCH_HINT = "the file is truncated or corrupt, e.g. an interrupted download: delete it and fetch it again"
CUT_HINT = (
    "a download cut short, or a copy that lost its last part (e.g. gz members or bz2 streams concatenated with "
    "some missing): delete it and fetch it again"
)

STAT_KEYS = (
    "lines",
    "prefiltered",
    "bad_lines",
    "entities",
    "items",
    "properties",
    "other_types",
    "with_sitelink",
    "meta_dropped",
    "kept",
    "no_label",
    "no_description",
    "subclass_pairs",
    "duplicate_entities",
    "bytes_decompressed",
)

# One parsed entity: id, its input line number, stats keys to increment, its entities.jsonl and subclass_of.tsv lines.
EntityRow = Tuple[str, int, Tuple[str, ...], bytes, bytes]
Batch = Tuple[List[bytes], List[int], str]  # lines, their line numbers, lang
BatchResult = Tuple[List[EntityRow], List[int]]  # entity rows, bad line numbers


# --- one entity --------------------------------------------------------------------------------------


def entity_id(value: Any) -> Optional[str]:
    """The id in a `wikibase-entityid` datavalue value: its "id", or, in 2014-2015 dumps, built from
    "numeric-id" and "entity-type" (Q for items, P for properties)."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("id"), str):
        return value["id"]
    number = value.get("numeric-id")
    prefix = ENTITY_PREFIXES.get(value.get("entity-type", "item"))
    if isinstance(number, int) and prefix:
        return f"{prefix}{number}"
    return None


def claim_targets(entity: dict, prop: str) -> List[str]:
    """The entity ids `prop` claims point to, in claim order, deduplicated, deprecated claims left out."""
    targets: List[str] = []
    for claim in _as_dict(entity.get("claims")).get(prop) or []:
        if not isinstance(claim, dict) or claim.get("rank") == "deprecated":
            continue
        datavalue = _as_dict(_as_dict(claim.get("mainsnak")).get("datavalue"))
        if datavalue.get("type") == "wikibase-entityid":
            target = entity_id(datavalue.get("value"))
            if target and target not in targets:
                targets.append(target)
    return targets


def entity_kind(entity: dict) -> str:
    """'item', 'property' or 'other' (lexemes, media info ...), from "type" or else the id's first letter."""
    kind = entity.get("type")
    if kind is None:
        kind = {"Q": "item", "P": "property"}.get(str(entity.get("id", ""))[:1])
    return kind if kind in ("item", "property") else "other"


def site_id(lang: str) -> str:
    """The sitelink key of a Wikipedia language: en -> enwiki, zh-min-nan -> zh_min_nanwiki."""
    return f"{lang.replace('-', '_')}wiki"


def sitelink_title(entity: dict, lang: str) -> str:
    """The title of the entity's `<lang>wiki` page, or ""."""
    link = _as_dict(entity.get("sitelinks")).get(site_id(lang))
    if isinstance(link, dict):
        link = link.get("title")
    return link if isinstance(link, str) else ""


def parse_entity(obj: dict, lang: str) -> Optional[dict]:
    """The entities.jsonl record of an entity, or None if it is not kept (not an item, no `<lang>wiki`
    sitelink, or a Wikimedia page)."""
    return _examine(obj, lang)[1]


def _examine(entity: dict, lang: str) -> Tuple[Tuple[str, ...], Optional[dict]]:
    """The stats keys an entity counts towards, and its record if it is kept."""
    kind = entity_kind(entity)
    if kind != "item":
        return ("properties" if kind == "property" else "other_types",), None
    title = sitelink_title(entity, lang)
    if not title:
        return ("items",), None
    types = claim_targets(entity, "P31")
    if META_CLASSES.intersection(types):
        return ("items", "with_sitelink", "meta_dropped"), None
    record = {
        "qid": entity["id"],
        "title": title,
        "label": _text(entity, "labels", lang),
        "description": _text(entity, "descriptions", lang),
        "aliases": _aliases(entity, lang),
        "types": types,
    }
    tags: Tuple[str, ...] = ("items", "with_sitelink", "kept")
    if not record["label"]:
        tags += ("no_label",)
    if not record["description"]:
        tags += ("no_description",)
    return tags, record


def _as_dict(value: Any) -> dict:
    """`value` if it is a dict, else {} (empty maps are serialised as `[]` in some dumps)."""
    return value if isinstance(value, dict) else {}


def _text(entity: dict, field: str, lang: str) -> str:
    value = _as_dict(_as_dict(entity.get(field)).get(lang)).get("value")
    return value if isinstance(value, str) else ""


def _aliases(entity: dict, lang: str) -> List[str]:
    entries = _as_dict(entity.get("aliases")).get(lang) or []
    return [e["value"] for e in entries if isinstance(e, dict) and isinstance(e.get("value"), str)]


# --- batches of lines (what a worker process runs) ---------------------------------------------------


def parse_batch(lines: List[bytes], numbers: List[int], lang: str) -> BatchResult:
    """Parse a batch of input lines: one row per entity, and the numbers of the lines that are not
    entity JSON."""
    rows: List[EntityRow] = []
    bad: List[int] = []
    with _gc_paused():
        for line, number in zip(lines, numbers):
            try:
                entities = _entities_in(orjson.loads(_json_text(line)))
            except orjson.JSONDecodeError:  # also raised for bytes that are not UTF-8
                entities = None
            if entities is None:
                bad.append(number)
                continue
            for entity in entities:
                rows.append(_row(entity, number, lang))
    return rows, bad


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector. Parsed entities hold no cycles (reference counting frees them),
    and the collections triggered by the many dicts orjson creates cost about a quarter of the parse time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _json_text(line: bytes) -> bytes:
    """A line without surrounding whitespace and the trailing comma of the dump layout."""
    line = line.strip()
    return line[:-1] if line.endswith(b",") else line


def _entities_in(obj: Any) -> Optional[List[dict]]:
    """The entities in a JSON value (an entity, an API response `{"entities": {...}}` or a list of
    entities), or None if it holds none."""
    if isinstance(obj, dict) and isinstance(obj.get("entities"), dict):
        obj = list(obj["entities"].values())
    elif isinstance(obj, dict):
        obj = [obj]
    if isinstance(obj, list) and obj and all(isinstance(e, dict) and isinstance(e.get("id"), str) for e in obj):
        return obj
    return None


def _row(entity: dict, number: int, lang: str) -> EntityRow:
    tags, record = _examine(entity, lang)
    qid = entity["id"]
    line = orjson.dumps(record) + b"\n" if record else b""
    pairs = "".join(f"{qid}\t{parent}\n" for parent in claim_targets(entity, "P279")).encode()
    return qid, number, tags, line, pairs


# --- reading input files ------------------------------------------------------------------------------


def _json_units(stream: IO[bytes], path: Path) -> Iterator[bytes]:
    """The JSON texts of a decompressed input in order: its lines, or the whole file as one text when
    it is a small multi-line document (its first line is not JSON on its own)."""
    blank: List[bytes] = []
    first = stream.readline()
    while first and not first.strip():
        blank.append(first)
        first = stream.readline()
    if not first:
        raise InputError(path, "is empty", hint="the download probably failed: fetch it again")
    _check_looks_like_json(first, path)
    yield from blank
    if _json_text(first) == b"[" or _parses(first):
        yield first
        yield from stream
        return
    rest = stream.read(DOCUMENT_LIMIT)
    if len(rest) < DOCUMENT_LIMIT and _parses(first + rest):
        yield first + rest
        return
    yield first
    yield from io.BytesIO(rest + stream.readline())
    yield from stream


def _parses(text: bytes) -> bool:
    try:
        orjson.loads(_json_text(text))
    except orjson.JSONDecodeError:
        return False
    return True


def _check_looks_like_json(first_line: bytes, path: Path) -> None:
    """Raise InputError with a hint for files that are clearly not Wikidata JSON (XML, HTML, binary)."""
    head = first_line.lstrip()[:300].lower()
    if head.startswith(b"<"):
        if b"<html" in head or b"<!doctype html" in head:
            raise InputError(
                path,
                "is an HTML page, not Wikidata entity JSON",
                line=1,
                hint="probably the error page of a failed download: delete it and fetch again",
            )
        raise InputError(
            path,
            "is XML (a Wikipedia dump?), not Wikidata entity JSON",
            line=1,
            hint="give the Wikidata entity dump (...-all.json.gz) here; the XML dump is the Wikipedia step's input",
        )
    if not head.startswith((b"[", b"{")):
        raise InputError(
            path,
            f"does not look like Wikidata entity JSON (it starts with {head[:20]!r})",
            line=1,
            hint="expected the Wikidata entity dump (...-all.json.gz/.bz2)",
        )


def _position_reader(stream: IO[bytes], path: Path) -> Optional[Callable[[], int]]:
    """A function returning how far into the compressed file the reader is, for plain and gzip files;
    None for bzip2 (indexed_bzip2 reads ahead with threads and positioned reads)."""
    if compression_of(path) == "bz2":
        return None
    fd = stream.fileno()
    return lambda: os.lseek(fd, 0, os.SEEK_CUR)


# --- the stage ------------------------------------------------------------------------------------------


class SeenIds:
    """The entity ids seen so far, small for a whole dump: ids of a letter and a number (Q42, P31, L7) are bits of
    one bitmap per letter, any other id goes to a set."""

    def __init__(self) -> None:
        self.bitmaps: Dict[str, bytearray] = {}
        self.others: Set[str] = set()

    def add(self, entity_id: str) -> bool:
        """Remember `entity_id`; False if it was seen before."""
        digits = entity_id[1:]
        if digits.isascii() and digits.isdigit() and digits[0] != "0" and len(digits) < 10:
            number = int(digits)
            if number < BITMAP_IDS:
                bitmap = self.bitmaps.setdefault(entity_id[0], bytearray())
                index, mask = number >> 3, 1 << (number & 7)
                if index >= len(bitmap):
                    bitmap.extend(bytes(max(index + 1 - len(bitmap), len(bitmap))))  # grows by doubling
                if bitmap[index] & mask:
                    return False
                bitmap[index] |= mask
                return True
        if entity_id in self.others:
            return False
        self.others.add(entity_id)
        return True


class _Collector:
    """Takes batch results in input order: writes the outputs, counts, skips entity ids already seen (in the same
    file or an earlier one: the first occurrence is kept) and stops once there are too many bad lines."""

    def __init__(self, entities_out: Any, subclass_out: Any, max_bad_lines: int):
        self.entities_out = entities_out
        self.subclass_out = subclass_out
        self.max_bad_lines = max_bad_lines
        self.seen = SeenIds()
        self.counts: Dict[str, int] = dict.fromkeys(STAT_KEYS, 0)
        self.first_bad_lines: List[str] = []
        self.first_duplicates: List[str] = []

    def add(self, path: Path, result: BatchResult) -> None:
        rows, bad = result
        for number in bad:
            self._bad_line(path, number)
        entity_lines, pair_lines = [], []
        for qid, number, tags, line, pairs in rows:
            if not self.seen.add(qid):
                self.counts["duplicate_entities"] += 1
                if len(self.first_duplicates) < FIRST_BAD_LINES:
                    self.first_duplicates.append(f"{qid} at {path}:{number}")
                continue
            self.counts["entities"] += 1
            for tag in tags:
                self.counts[tag] += 1
            entity_lines.append(line)
            pair_lines.append(pairs)
        pairs_bytes = b"".join(pair_lines)
        self.counts["subclass_pairs"] += pairs_bytes.count(b"\n")
        self.entities_out.write(b"".join(entity_lines))
        self.subclass_out.write(pairs_bytes)

    def _bad_line(self, path: Path, number: int) -> None:
        self.counts["bad_lines"] += 1
        if len(self.first_bad_lines) < FIRST_BAD_LINES:
            self.first_bad_lines.append(f"{path}:{number}")
        if self.counts["bad_lines"] > self.max_bad_lines:
            raise InputError(
                path,
                f"more than {self.max_bad_lines} lines are not entity JSON or not UTF-8 "
                f"(first: {', '.join(self.first_bad_lines)})",
                line=number,
                hint="is this a Wikidata entity dump? raise --max-bad-lines to skip more",
            )


def _read_batches(
    path: Path, lang: str, threads: int, batch_bytes: int, counts: Dict[str, int], progress: bool
) -> Generator[Batch, None, None]:
    """Batches of the lines of one file that pass the cheap pre-filter: a line is parsed only if it
    mentions the `<lang>wiki` sitelink or P279."""
    sitelink_key = f'"{site_id(lang)}"'.encode()
    subclass_key = b'"P279"'
    number = 0
    with (
        open_dump(path, threads) as stream,
        tqdm(desc=path.name, unit="B", unit_scale=True, mininterval=1.0, disable=not progress) as bar,
    ):
        position = _position_reader(stream, path)
        if position:
            bar.total = os.path.getsize(path)
        lines: List[bytes] = []
        numbers: List[int] = []
        size = unreported = 0
        bytes_before = counts["bytes_decompressed"]
        first = last = b""  # the first and last lines that are not blank
        try:
            for number, line in enumerate(_json_units(stream, path), 1):
                unreported += len(line)
                if not line.isspace():  # stops at the first character that is not whitespace: cheap on entity lines
                    last = line
                    first = first or line
                if sitelink_key in line or subclass_key in line:
                    lines.append(line)
                    numbers.append(number)
                    size += len(line)
                    if size >= batch_bytes:
                        yield lines, numbers, lang
                        lines, numbers, size = [], [], 0
                elif len(line) > 3 or line.strip() not in STRUCTURAL_LINES:
                    counts["prefiltered"] += 1
                if unreported >= PROGRESS_BYTES:
                    counts["bytes_decompressed"] += unreported
                    bar.update(position() - bar.n if position else unreported)
                    unreported = 0
        except READ_ERRORS as err:
            decompressed = counts["bytes_decompressed"] - bytes_before + unreported
            raise _read_error(path, err, number, decompressed, position) from err
        counts["bytes_decompressed"] += unreported
        _check_array_closed(path, first, last, number, counts["bytes_decompressed"] - bytes_before)
        if lines:
            yield lines, numbers, lang
        counts["lines"] += number
        bar.update(position() - bar.n if position else unreported)


def _read_error(
    path: Path, err: BaseException, number: int, decompressed: int, position: Optional[Callable[[], int]]
) -> InputError:
    """The error for a file whose data stops early or is corrupt: at which compressed byte where it is known (plain
    and gzip), else after which decompressed byte and line (bzip2 is read ahead by several threads)."""
    kind = compression_of(path)
    what = {"gz": "its gzip data ends early or is corrupt", "bz2": "its bz2 data ends early or is corrupt"}.get(
        kind, "reading failed"
    )
    what = f"cannot be read: {what}"
    detail = f"{type(err).__name__}: {err}"
    if kind == "bz2" and "std::exception" in detail:  # what indexed_bzip2 says about a stream cut short
        detail = "a bz2 stream without its end"
    after = f"after line {number:,} (decompressed byte {decompressed:,})"
    if position is not None:
        offset = position()
        return InputError(
            path, f"{what} at or before compressed byte {offset:,}, {after}: {detail}", offset=offset, hint=REFETCH_HINT
        )
    return InputError(path, f"{what} {after}: {detail}", line=number + 1, hint=REFETCH_HINT)


def _check_array_closed(path: Path, first: bytes, last: bytes, number: int, decompressed: int) -> None:
    """InputError if the input opens a JSON array on a line of its own (the dump layout) and its last line is not the
    `]` that closes it: the file was cut, even if at a line or a gzip member / bz2 stream boundary. Newline-delimited
    input (no `[`) has no end marker and cannot be checked."""
    if _json_text(first) != b"[" or last.strip() == b"]":
        return
    raise InputError(
        path,
        f"is truncated: its JSON array (`[` on its first line) is not closed by a `]` line; the data ends after "
        f"line {number:,} (decompressed byte {decompressed:,}, the end of the file)",
        offset=os.path.getsize(path),
        hint=CUT_HINT,
    )


@contextlib.contextmanager
def _batch_parser(n_process: int) -> Iterator[Callable[[Iterable[Batch]], Iterator[BatchResult]]]:
    """A function mapping batches to results in order: in this process, or with n_process - 1 worker
    processes and a bounded number of batches in flight (memory does not grow with the input)."""
    if n_process <= 1:
        yield lambda batches: (parse_batch(*batch) for batch in batches)
        return
    workers = n_process - 1
    pool = multiprocessing.Pool(workers, initializer=ignore_interrupts)

    def parse(batches: Iterable[Batch]) -> Iterator[BatchResult]:
        pending: collections.deque = collections.deque()
        for batch in batches:
            pending.append(pool.apply_async(parse_batch, batch))
            if len(pending) > 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()

    try:
        yield parse
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()


@writes_step("parse-wikidata")
def parse_wikidata(
    inputs: Sequence[PathLike],
    output_dir: PathLike,
    lang: str = defaults.LANG,
    n_process: int = 1,
    max_bad_lines: int = defaults.MAX_BAD_LINES,
    batch_bytes: int = BATCH_BYTES,
    progress: bool = True,
) -> Dict[str, Any]:
    """Run the stage on one or more dump files (in order; an entity id seen before, in the same file or an earlier
    one, is skipped and counted as `duplicate_entities`; a dump array not closed by `]` is an InputError). Writes
    entities.jsonl, subclass_of.tsv and stats.json atomically; returns the stats."""
    paths = [Path(p) for p in inputs]
    output_dir = Path(output_dir)
    stats = StepStats("parse-wikidata")
    with (
        _batch_parser(n_process) as parse,
        atomic_open(output_dir / ENTITIES_FILE, "wb") as entities_out,
        atomic_open(output_dir / SUBCLASS_FILE, "wb") as subclass_out,
    ):
        collector = _Collector(entities_out, subclass_out, max_bad_lines)
        for path in paths:
            # closing(): the progress bar ends before an error propagates, so the error gets a line of its own
            with contextlib.closing(
                _read_batches(path, lang, n_process, batch_bytes, collector.counts, progress)
            ) as batches:
                for result in parse(batches):
                    collector.add(path, result)
        if not collector.counts["kept"]:
            raise OutputError(
                f"no item with a '{site_id(lang)}' sitelink in {', '.join(map(str, paths))}: check "
                f"--lang ({lang!r}) and that the input is a Wikidata entity dump"
            )
    stats.counts.update(collector.counts)
    stats["bytes_in"] = sum(p.stat().st_size for p in paths)
    stats["first_bad_lines"] = collector.first_bad_lines
    stats["first_duplicates"] = collector.first_duplicates
    stats["inputs"] = [str(p) for p in paths]
    stats["lang"] = lang
    stats["n_process"] = n_process
    return stats.write(output_dir / STATS_FILE)
