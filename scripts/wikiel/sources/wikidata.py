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

How the work is split (the output is byte for byte the same whatever the split, n_process or scheduler):

- The pre-filter: a line is parsed only if it contains the `"<lang>wiki"` sitelink key or `"P279"`; on the real
  dump fewer than a tenth of the entities do. The keys are searched for in whole decompressed buffers (`scan_lines`),
  so that a line without them costs one newline search, by StringZilla's SIMD search (5-8 GB/s; CPython's
  bytes.find, 1-1.5 GB/s, where it is missing); per 200 MB of realistic records (entities of 12 KB on average, 6%
  with an enwiki sitelink) the scan takes ~0.04 CPU s (0.31 with bytes.find).
- The parse of the lines that pass: msgspec structs declare only the fields the step reads (`_FieldReader`: the
  id, type, the label, description and aliases in `lang`, the P31 and P279 claims and the `<lang>wiki` sitelink),
  so that the rest of an entity is skipped without building Python objects for it: ~0.06 CPU s per 200 MB of
  realistic records, against ~0.15 for orjson parsing them whole. orjson still parses the lines the structs do
  not take (API responses, lists of entities, fields of another shape, bad lines), so the output is the same.
- Decoding: gzip by ISA-L (isal.igzip, ~0.18 CPU s per 200 MB of realistic records, against ~0.33 for rapidgzip on
  one thread and ~0.45 for Python's gzip). With n_process > 1 (or a scheduler) in a decoder process (`_GzipProcess`)
  that inflates straight into a ring of shared memory (16 slots of 1 MB, an anonymous mapping that the fork
  inherits: no named segment) and sends only (length, compressed position) records through a pipe; this process
  copies each chunk out (~0.015 s per 200 MB) and gives its slot back, so decoding has a core of its own. In a
  thread it has not: ISA-L keeps the GIL while it inflates (isal 1.9), so the decoding thread and the main thread's
  pre-filter and parse (~0.12 CPU s) only take turns. Measured on 200 MB of realistic records, 2 cores, a quiet
  machine, medians of 9 interleaved rounds, two runs: igzip alone 0.179-0.181 s; the step 0.20-0.21 s with the
  process (0.86-0.90 of igzip's rate) against 0.25-0.26 s with the thread (0.70-0.72); on a machine loaded by other
  processes (load 4-6) the process has no core of its own and does no better than the thread (0.75 against 0.79 of
  igzip's rate there). Of those 0.20 s the decoder inflates for 0.18 (as fast as alone), starts ~5 ms after the step
  (the fork) and the main process ends ~13 ms after it (the chunks left in the ring, the outputs). Slower on 2
  cores: a decoder process sending the chunks through a pipe (0.38 s: the pipe's copies) and parsing in a pool of 2
  workers (0.41 s: pickling and start-up). With one process (n_process 1), without fork or when the process cannot
  start: the decoder thread (`_GzipDecoder`, a bounded queue of 1 MB chunks). bz2 by indexed_bzip2, with n_process >
  1 in a decoder process of its own that feeds this process through a pipe.
- Pieces (`Piece`, run by `parse_piece` through `wikiel.parallel.executor`: in this process, in n_process worker
  processes, or on the Dask cluster at `scheduler`): a plain file is cut into byte ranges that the workers read and
  pre-filter themselves (a range owns the lines that start in it, so ranges cut anywhere give every line once). A
  compressed file is decompressed and pre-filtered on this machine; the lines that pass (14% of the realistic
  records' bytes) go in pieces of ~4 MB to n_process - 1 workers (with 2 processes: to this process), or to the
  cluster's workers.
- Why compressed dumps are not cut into byte ranges for the workers to decompress themselves: for gzip that needs a
  rapidgzip index, and building one is a full decoding pass (measured: 0.70 CPU s per 300 MB, what decoding for the
  parse costs) and 5.5% of the compressed size (~6 GB for the 115 GiB dump) on the shared filesystem; after it the
  workers would decode every byte a second time. Decoding once here and shipping only the pre-filtered lines does
  less work in a single run and keeps the network to the lines that are parsed. The cluster then takes the parse;
  this machine's decoding and pre-filter bound the rate (docs/benchmark.md projects it). bz2 files could be cut at
  their stream boundaries; not done yet: bz2 is decoded here with all n_process threads.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import gzip
import io
import mmap
import multiprocessing
import os
import pickle
import queue
import select
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Generator,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
    cast,
)

import msgspec
import orjson
from isal import igzip, igzip_lib, isal_zlib
from tqdm import tqdm

try:
    import stringzilla
except ImportError:  # pragma: no cover - a declared dependency; bytes.find gives the same result, slower
    stringzilla = None

from wikiel import defaults
from wikiel.parallel import WAIT_SLICE_SECONDS, WorkerDied, executor, exit_reason
from wikiel.util import (
    TEST_HOLD_ENV,
    InputError,
    OutputError,
    PathLike,
    StepStats,
    StopFlag,
    atomic_open,
    check_signals,
    compression_of,
    ignore_interrupts,
    open_dump,
    signals_deferred,
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

PIECE_BYTES = 4 << 20  # a piece: a plain file's byte range, or pre-filtered lines of a compressed file
SCANNED_PIECE_BYTES = 64 << 20  # and at most this many decompressed bytes scanned for them
SCAN_BYTES = 1 << 20  # decompressed bytes read and pre-filtered at a time
PIPE_BYTES = 1 << 20  # the decoder process's pipe (bz2)
DECODED_CHUNK_BYTES = 1 << 20  # the gzip decoder's chunks
DECODED_QUEUE_CHUNKS = 16  # and how many of them wait at most for the pre-filter (16 MB)
DECODED_RING_SLOTS = 16  # the gzip decoder process's ring of shared memory: slots of DECODED_CHUNK_BYTES (16 MB)
DECODER_WAIT_SECONDS = 60  # for the decoder's last word once its pipe is closed
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
    claims = _as_dict(entity.get("claims")).get(prop)
    for claim in claims if isinstance(claims, list) else ():  # a claim group of another shape holds no claims
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
    entity JSON. A line is read by the field reader (`_FieldReader`: only the fields the step needs) and, where that
    does not take it (not one entity of the usual shape), parsed whole by orjson: the same rows either way."""
    rows: List[EntityRow] = []
    bad: List[int] = []
    reader = _field_reader(lang)
    with _gc_paused():
        for line, number in zip(lines, numbers):
            text = _json_text(line)
            entity = reader.read(text)
            if entity is not None:
                rows.append(_row(entity, number, lang))
                continue
            try:
                entities = _entities_in(orjson.loads(text))
            except orjson.JSONDecodeError:  # also raised for bytes that are not UTF-8
                entities = None
            if entities is None:
                bad.append(number)
                continue
            for whole in entities:
                rows.append(_row(whole, number, lang))
    return rows, bad


# The field reader: msgspec structs declaring only the fields of an entity that parse-wikidata reads, so that the
# rest of an entity (most of its bytes: other languages, other claims, other sitelinks) is skipped without building
# Python objects for it. A field given in an unusual shape (a label that is not an object, ...) fails the struct's
# validation, and the line is then parsed whole by orjson: the structs only accept what the dict-based code reads the
# same way. `Any` subtrees (one language's label, one sitelink, the P31 and P279 claims) are small, and the dict-based
# functions (_examine, claim_targets) read them.


class _Claims(msgspec.Struct):
    P31: Any = None
    P279: Any = None


def _language_struct(name: str, key: str) -> type:
    """A struct with one field, `value`, read from the JSON key `key` (a language code or a sitelink key)."""
    return msgspec.defstruct(name, [("value", Any, None)], rename={"value": key})


class _FieldReader:
    """Reads one entity line into the dict of the fields parse-wikidata needs (see above), or None where orjson must
    parse it whole: not one entity with a string "id" (an API response, a list, a bad line), a field of another
    shape, or bytes that are not UTF-8 (which orjson rejects; msgspec does not check strings it skips)."""

    def __init__(self, lang: str):
        self.lang, self.site = lang, site_id(lang)
        text = _language_struct("_Text", lang)
        site = _language_struct("_Site", self.site)
        self.text_type: Any = text
        self.site_type: Any = site
        entity = msgspec.defstruct(
            "_Entity",
            [
                ("id", str),
                ("type", Any, None),
                ("labels", Union[text, list, None], None),
                ("descriptions", Union[text, list, None], None),
                ("aliases", Union[text, list, None], None),
                ("claims", Union[_Claims, list, None], None),
                ("sitelinks", Union[site, list, None], None),
                ("entities", Optional[msgspec.Raw], None),
            ],
        )
        self.decoder = msgspec.json.Decoder(entity)

    def read(self, text: bytes) -> Optional[dict]:
        try:
            found: Any = self.decoder.decode(text)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        if found.entities is not None or not (text.isascii() or _is_utf8(text)):
            return None
        lang, site = self.lang, self.site
        claims = found.claims
        return {
            "id": found.id,
            "type": found.type,
            "labels": {lang: found.labels.value} if isinstance(found.labels, self.text_type) else None,
            "descriptions": {lang: found.descriptions.value}
            if isinstance(found.descriptions, self.text_type)
            else None,
            "aliases": {lang: found.aliases.value} if isinstance(found.aliases, self.text_type) else None,
            "claims": {"P31": claims.P31, "P279": claims.P279} if isinstance(claims, _Claims) else None,
            "sitelinks": {site: found.sitelinks.value} if isinstance(found.sitelinks, self.site_type) else None,
        }


@functools.lru_cache(maxsize=8)
def _field_reader(lang: str) -> _FieldReader:
    return _FieldReader(lang)


def _is_utf8(text: bytes) -> bool:
    try:
        text.decode()
    except UnicodeDecodeError:
        return False
    return True


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


# --- pieces: what a worker process (or a Dask worker) runs ----------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """Whole input lines of one file, parsed as one piece of work: bytes `start` to `end` of the decompressed input.
    Either `lines`, the lines of that part that passed the pre-filter (the reader scanned it: `scanned` holds its
    line count, pre-filtered lines and whether its last line that is not blank is `]`), or `units`, JSON texts that
    are not one per line (a multi-line document), or, neither given, the lines of a plain file that start in bytes
    `start` to `end`, which the worker reads and pre-filters itself. Line numbers count from the piece's first line."""

    path: str
    lang: str
    start: int
    end: int
    lines: Optional[Tuple[bytes, ...]] = None
    numbers: Tuple[int, ...] = ()
    scanned: Tuple[int, int, Optional[bool]] = (0, 0, None)
    units: Optional[Tuple[bytes, ...]] = None

    def describe(self) -> str:
        kind = "bytes" if self.lines is None and self.units is None else "decompressed bytes"
        return f"{self.path} {kind} {self.start:,}-{self.end:,}"


class PieceResult(NamedTuple):
    rows: List[EntityRow]  # line numbers from the piece's first line
    bad: List[int]
    lines: int
    prefiltered: int
    closed: Optional[bool]  # its last line that is not blank is `]`; None: all its lines are blank
    size: int  # decompressed bytes


def parse_piece(piece: Piece) -> PieceResult:
    """Parse a piece's lines that pass the pre-filter (they mention the `<lang>wiki` sitelink key or P279); a
    module-level function so that worker processes and Dask workers can run it."""
    if piece.lines is not None:
        lines, numbers = list(piece.lines), list(piece.numbers)
        count, prefiltered, closed = piece.scanned
    else:
        keys = prefilter_keys(piece.lang)
        if piece.units is not None:
            lines, numbers, count, structural, closed = _scan_units(piece.units, keys)
        else:
            data = read_line_range(piece.path, piece.start, piece.end)
            lines, numbers, count, structural, closed = scan_lines(data, keys)
        prefiltered = count - len(lines) - structural
    rows, bad = parse_batch(lines, numbers, piece.lang)
    return PieceResult(rows, bad, count, prefiltered, closed, piece.end - piece.start)


def prefilter_keys(lang: str) -> Tuple[bytes, bytes]:
    """What a line must contain to be parsed: the `<lang>wiki` sitelink key or the subclass property."""
    return f'"{site_id(lang)}"'.encode(), b'"P279"'


def read_line_range(path: PathLike, start: int, end: int) -> bytes:
    """The lines of a plain file that start at byte `start` or after and before byte `end`: consecutive ranges
    give every line once, wherever they are cut (a line that starts before `start` belongs to the range before)."""
    with open(path, "rb") as f:
        if start > 0:
            f.seek(start - 1)
            if f.read(1) != b"\n":
                f.readline()  # the rest of a line that started before `start`
        begin = f.tell()
        if begin >= end:
            return b""
        data = f.read(end - begin)
        if data and not data.endswith(b"\n"):
            data += f.readline()  # the line that starts before `end` runs on past it
        return data


def scan_lines(
    data: bytes, keys: Tuple[bytes, ...], lo: int = 0, hi: Optional[int] = None
) -> Tuple[List[bytes], List[int], int, int, Optional[bool]]:
    """The lines of data[lo:hi] (whole lines) that contain one of `keys`, their numbers (from 1), the number of
    lines, how many of them are structural (`[`, `]` or blank, at most 3 bytes), and whether the last line that is
    not blank is `]` (None if there is none). The keys are searched for in the whole buffer, not line by line: a
    line without them costs one newline search (memchr)."""
    size = len(data) if hi is None else hi
    found = [_find(data, key, lo, size) for key in keys]
    lines: List[bytes] = []
    numbers: List[int] = []
    count = structural = 0
    pos = lo  # the start of the first line not counted yet
    while True:
        live = [at for at in found if at >= 0]
        if not live:
            break
        hit = min(live)
        start = data.rfind(b"\n", pos, hit) + 1 or pos
        end = data.find(b"\n", hit, size) + 1 or size
        n, s = _count_lines(data, pos, start)
        count += n + 1
        structural += s
        lines.append(data[start:end])
        numbers.append(count)
        pos = end
        found = [at if at < 0 or at >= end else _find(data, key, end, size) for at, key in zip(found, keys)]
    n, s = _count_lines(data, pos, size)
    return lines, numbers, count + n, structural + s, _last_closes(data, lo, size)


def _find_bytes(data: bytes, key: bytes, start: int, stop: int) -> int:
    """data.find(key, start, stop), searching for the key without its last byte (a closing quote, the most common
    byte of JSON, makes the search skip less: measured 0.7x the time) and checking that byte at each match."""
    head, last = key[:-1], key[-1]
    at = data.find(head, start, stop)
    while at >= 0 and (at + len(key) > stop or data[at + len(head)] != last):
        at = data.find(head, at + 1, stop)
    return at


def _find_simd(data: bytes, key: bytes, start: int, stop: int) -> int:
    """data.find(key, start, stop) by StringZilla's SIMD search: measured on realistic records 5.5 GB/s for
    `"enwiki"` and 8.1 GB/s for `"P279"` against 1.5 and 1.1 GB/s for bytes.find (the pre-filter's whole cost)."""
    return cast(int, stringzilla.find(data, key, start, stop))


# the pre-filter's key search: StringZilla where installed (a declared dependency), else CPython's bytes.find
_find = _find_simd if stringzilla is not None else _find_bytes
KEY_SEARCH = f"StringZilla {stringzilla.__version__}" if stringzilla is not None else "bytes.find"


def _count_lines(data: bytes, pos: int, stop: int) -> Tuple[int, int]:
    """Lines in data[pos:stop] (whole lines), and how many of them are structural."""
    count = structural = 0
    while pos < stop:
        end = data.find(b"\n", pos, stop) + 1 or stop
        if end - pos <= 3 and data[pos:end].strip() in STRUCTURAL_LINES:
            structural += 1
        count += 1
        pos = end
    return count, structural


def _last_closes(data: bytes, lo: int, hi: int) -> Optional[bool]:
    """Whether the last line of data[lo:hi] that is not blank is `]`; None if all are blank."""
    end = hi
    while end > lo:
        start = max(lo, data.rfind(b"\n", lo, end - 1) + 1)
        line = data[start:end]
        if not line.isspace():
            return line.strip() == b"]"
        end = start
    return None


def _scan_units(
    units: Sequence[bytes], keys: Tuple[bytes, ...]
) -> Tuple[List[bytes], List[int], int, int, Optional[bool]]:
    """scan_lines for JSON texts that are not one per line."""
    lines: List[bytes] = []
    numbers: List[int] = []
    structural = 0
    closed: Optional[bool] = None
    for number, unit in enumerate(units, 1):
        if not unit.isspace():
            closed = unit.strip() == b"]"
        if any(key in unit for key in keys):
            lines.append(unit)
            numbers.append(number)
        elif len(unit) <= 3 and unit.strip() in STRUCTURAL_LINES:
            structural += 1
    return lines, numbers, len(units), structural, closed


# --- reading input files ------------------------------------------------------------------------------


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


class _Batch:
    """Pre-filtered lines being gathered into a piece, with the counts of the lines scanned for them."""

    def __init__(self, start: int):
        self.start = self.end = start
        self.lines: List[bytes] = []
        self.numbers: List[int] = []
        self.count = self.prefiltered = self.size = 0
        self.closed: Optional[bool] = None

    def add(self, scanned: Tuple[List[bytes], List[int], int, int, Optional[bool]], size: int) -> None:
        lines, numbers, count, structural, closed = scanned
        self.lines += lines
        self.numbers += [self.count + n for n in numbers]
        self.prefiltered += count - len(lines) - structural
        self.count += count
        self.size += sum(map(len, lines))
        self.end += size
        if closed is not None:
            self.closed = closed

    def piece(self, path: Path, lang: str) -> Piece:
        scanned = (self.count, self.prefiltered, self.closed)
        return Piece(str(path), lang, self.start, self.end, tuple(self.lines), tuple(self.numbers), scanned)


class _Reader:
    """Cuts one input file into pieces. The file's head is read here: blank lines, then the first line, checked to
    look like entity JSON; a multi-line document (its first line is not JSON on its own) becomes one piece of units.
    A plain file is then cut into byte ranges that the workers read and pre-filter themselves. A compressed file is
    decompressed (gzip by ISA-L, in a decoder process handing chunks over shared memory when `decoder_process`, else
    in a decoder thread; bz2 by indexed_bzip2, in a decoder process of its own when `decoder_process`; so that
    decoding and the pre-filter run at once) and pre-filtered here, on whole blocks, and the lines that pass are
    shipped in pieces of about `piece_bytes`. A read error ends the pieces and is kept in `failure`, to be raised once
    the pieces before it are counted."""

    def __init__(self, path: Path, lang: str, threads: int, piece_bytes: int, progress: bool, decoder_process: bool):
        self.path, self.lang, self.threads, self.piece_bytes = path, lang, threads, piece_bytes
        self.progress, self.decoder_process = progress, decoder_process
        self.first = b""  # the first line that is not blank
        self.read = 0  # decompressed bytes read
        self.failure: Optional[Tuple[BaseException, int, Optional[int]]] = None  # error, bytes read, compressed offset

    def pieces(self) -> Iterator[Piece]:
        kind = compression_of(self.path)
        fork = "fork" in multiprocessing.get_all_start_methods()
        opened: Optional[Any] = None
        if kind == "gz":
            opened = _gzip_decoded(self.path, self.decoder_process)
        elif kind == "bz2" and self.decoder_process and fork:
            opened = _decoded(self.path, self.threads)
        with (
            opened or _in_process(self.path, self.threads) as (stream, position),
            tqdm(desc=self.path.name, unit="B", unit_scale=True, mininterval=1.0, disable=not self.progress) as bar,
        ):
            if position is None:  # progress in decompressed bytes
                bar.unit_scale, bar.total = True, None
            else:
                bar.total = os.path.getsize(self.path)
            try:
                head = self._head(stream)
                if isinstance(head, tuple):  # a multi-line document
                    yield Piece(str(self.path), self.lang, 0, self.read, units=head)
                elif kind == "plain":
                    yield from self._ranges(bar)
                else:
                    yield from self._scanned(stream, head, bar, position)
            except READ_ERRORS as err:
                offset = getattr(err, "compressed_offset", None)
                self.failure = (err, self.read, offset if offset is not None else position() if position else None)

    def _head(self, stream: IO[bytes]) -> Union[bytes, Tuple[bytes, ...]]:
        """The head's lines, or the units of a multi-line document."""
        blank: List[bytes] = []
        first = stream.readline()
        while first and not first.strip():
            blank.append(first)
            first = stream.readline()
        if not first:
            raise InputError(self.path, "is empty", hint="the download probably failed: fetch it again")
        _check_looks_like_json(first, self.path)
        self.first = first
        head = b"".join(blank) + first
        self.read = len(head)
        if _json_text(first) == b"[" or _parses(first):
            return head
        rest = stream.read(DOCUMENT_LIMIT)
        if len(rest) < DOCUMENT_LIMIT and _parses(first + rest):
            self.read += len(rest)
            return (*blank, first + rest)
        rest += stream.readline()
        self.read += len(rest)
        return head + rest

    def _scanned(
        self, stream: IO[bytes], head: bytes, bar: Any, position: Optional[Callable[[], int]]
    ) -> Iterator[Piece]:
        """Pieces of the lines that pass the pre-filter, scanned a block at a time; only a line cut by a block's end
        is copied."""
        keys = prefilter_keys(self.lang)
        batch = _Batch(0)
        carry = head  # whole lines, then the start of a line cut by the end of a block
        # the gzip decoder's chunks as they come (no copy into blocks of a fixed size)
        read = stream.read1 if isinstance(stream, _ChunkStream) else stream.read
        while True:
            block = read(SCAN_BYTES)
            self.read += len(block)
            last = block.rfind(b"\n")
            if last < 0:
                if block:
                    carry += block  # a line longer than a block
                    continue
                if carry:
                    batch.add(scan_lines(carry, keys), len(carry))
                if batch.count:
                    yield batch.piece(self.path, self.lang)
                return
            first = block.find(b"\n") + 1
            joined = carry + block[:first]
            batch.add(scan_lines(joined, keys), len(joined))
            batch.add(scan_lines(block, keys, first, last + 1), last + 1 - first)
            carry = block[last + 1 :]
            if batch.size >= self.piece_bytes or batch.end - batch.start >= SCANNED_PIECE_BYTES:
                yield batch.piece(self.path, self.lang)
                batch = _Batch(batch.end)
                bar.update((position() if position else self.read) - bar.n)

    def _ranges(self, bar: Any) -> Iterator[Piece]:
        size = os.path.getsize(self.path)
        for start in range(0, size, self.piece_bytes):
            end = min(size, start + self.piece_bytes)
            yield Piece(os.path.abspath(self.path), self.lang, start, end)  # read by workers in other directories
            bar.update(end - bar.n)
        self.read = size


@contextlib.contextmanager
def _in_process(path: Path, threads: int) -> Iterator[Tuple[IO[bytes], Optional[Callable[[], int]]]]:
    """The decompressed stream of a plain or bz2 file (gzip goes to _gzip_decoded), read here, and a function giving
    the compressed position (None for bzip2: indexed_bzip2 reads ahead with threads and positioned reads)."""
    with open_dump(path, threads) as stream:
        if compression_of(path) == "bz2":
            yield stream, None
        else:
            fd = stream.fileno()
            yield stream, lambda: os.lseek(fd, 0, os.SEEK_CUR)


class _GzipDecoder:
    """A gzip file decoded by ISA-L (isal.igzip: ~2x rapidgzip on one thread, ~2.5x Python's gzip) in a thread of
    its own, which feeds a bounded queue of decompressed chunks (DECODED_QUEUE_CHUNKS of DECODED_CHUNK_BYTES), so
    that the main thread, pre-filtering and parsing, takes them as they come (ISA-L keeps the GIL while inflating:
    the two threads overlap where either waits, see the module's docstring). Each item of the queue is (chunk,
    compressed position after it), b"" at the end, or the decoding error (an OSError or EOFError, `compressed_offset`
    set), after which the thread stops. `start()` starts the thread with Ctrl-C and SIGTERM blocked in it
    (signals_deferred): they go to the main thread, which waits on the queue in slices (check_signals). `close()`
    stops the thread (it may be waiting to put a chunk) and closes the file."""

    def __init__(self, path: Path):
        self.path = path
        self.size = os.path.getsize(path)
        self.queue: queue.Queue[Union[Tuple[bytes, int], BaseException]] = queue.Queue(DECODED_QUEUE_CHUNKS)
        self.stopping = threading.Event()
        self.position = 0  # compressed bytes read for the chunks taken so far
        self.ended = False
        self.raw = open(path, "rb", buffering=0)  # closed by close()
        self.gzip = igzip.IGzipFile(fileobj=self.raw, mode="rb")  # reads the file 512 KB at a time
        self.thread = threading.Thread(target=self._decode, name=f"gzip decoder {path.name}", daemon=True)

    def start(self) -> None:
        with signals_deferred():  # the thread inherits the blocked mask; a signal meanwhile is handled after
            self.thread.start()

    def _decode(self) -> None:
        hold = os.environ.get(TEST_HOLD_ENV)
        if hold:  # the tests' hold (util.TEST_HOLD_ENV): the step is mid-way and cannot finish until released
            Path(f"{hold}.decoder-{os.getpid()}").touch()
            while not os.path.exists(hold) and not self.stopping.wait(0.01):
                pass
        try:
            while not self.stopping.is_set():
                chunk = self.gzip.read(DECODED_CHUNK_BYTES)
                if not self._put((chunk, self.raw.tell())) or not chunk:
                    return
        except BaseException as err:  # noqa: BLE001 - every failure reaches the main thread, which raises it
            self._put(_gzip_error(err, self.raw.tell() if not self.raw.closed else self.size))

    def _put(self, item: Union[Tuple[bytes, int], BaseException]) -> bool:
        """Put an item, waiting in slices for room; False if the decoder is being stopped."""
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=WAIT_SLICE_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def next_chunk(self) -> bytes:
        """The next decompressed chunk, b"" at the end; raises the decoder's error once the data before it is taken."""
        if self.ended:
            return b""
        while True:
            try:
                item = self.queue.get(timeout=WAIT_SLICE_SECONDS)
                break
            except queue.Empty:
                check_signals()  # a Ctrl-C or SIGTERM that another thread took: its handler runs now
                if not self.thread.is_alive() and self.queue.empty():
                    item = EOFError("the gzip decoder thread stopped before the end of the data")
                    break
        if isinstance(item, BaseException):
            self.ended = True
            raise item
        chunk, self.position = item
        self.ended = not chunk
        return chunk

    def close(self) -> None:
        self.stopping.set()
        with contextlib.suppress(queue.Empty):
            while True:  # room for a put the thread may be waiting on: it then sees `stopping`
                self.queue.get_nowait()
        try:
            if self.thread.ident is not None:  # started
                self.thread.join()
        finally:  # (a thread still running, cut from join() by a signal, then fails on the closed file, and ends)
            self.gzip.close()
            self.raw.close()


class _GzipProcess:
    """A gzip file decoded by ISA-L in a process of its own (forked: `_decode_gzip`), which decompresses straight into
    a ring of shared memory (DECODED_RING_SLOTS slots of DECODED_CHUNK_BYTES, an anonymous mapping made before the
    fork: no named segment to leak), so that decoding runs on another core than the pre-filter and parse (ISA-L keeps
    the GIL while it inflates: in a thread the two only alternate, see the module's docstring). Only small records
    cross the pipes: the decoder sends (length, compressed position after it) for each slot it fills, in ring order
    (length 0 at the end; -n for an error, its n pickled bytes following), and this process gives a slot back (one
    byte on the other pipe) once it has copied the slot's chunk out. Both sides block on their pipe, never spin.
    Same interface as _GzipDecoder: `start()`, `next_chunk()`, `position`, `close()`. The decoder process obeys
    SIGTERM from this process only and ignores Ctrl-C (util.ignore_interrupts: this process stops it); this process
    waits on the pipe in slices (check_signals), and a decoder that died (killed) is an error, not the end of the
    data. `close()` closes the pipes, terminates and joins the process and unmaps the ring."""

    def __init__(self, path: Path):
        self.path = path
        self.position = 0  # compressed bytes read for the chunks taken so far
        self.ended = False
        self.taken = 0  # chunks taken: the next one is in slot taken % DECODED_RING_SLOTS
        self.raw = open(path, "rb", buffering=0)  # opened here (an error is this process's), read by the decoder
        self.ring = mmap.mmap(-1, DECODED_RING_SLOTS * DECODED_CHUNK_BYTES)  # anonymous and shared: the fork's too
        self.filled, filled_w = os.pipe()  # decoder -> here: records of filled slots
        freed_r, self.freed = os.pipe()  # here -> decoder: one byte per slot given back
        self.theirs = [filled_w, freed_r]  # the decoder's ends, closed here once it has started
        context = multiprocessing.get_context("fork")
        self.stop = StopFlag(context)
        self.process = context.Process(
            target=_decode_gzip,
            args=(self.raw, self.ring, filled_w, freed_r, (self.filled, self.freed), self.stop),
            name=f"gzip decoder {path.name}",
            daemon=True,
        )

    def start(self) -> None:
        with signals_deferred():  # a signal within start() would leave the process running, not stopped here
            self.process.start()
            self._close_fds(self.theirs)
            self.raw.close()

    def next_chunk(self) -> bytes:
        """The next decompressed chunk, b"" at the end; raises the decoder's error once the data before it is taken."""
        if self.ended:
            return b""
        record = self._receive(_RECORD.size)
        if record is None:
            self.ended = True
            raise self._died()
        size, position = _RECORD.unpack(record)
        if size < 0:
            self.ended = True
            pickled = self._receive(-size)
            raise cast(BaseException, pickle.loads(pickled)) if pickled is not None else self._died()
        start = self.taken % DECODED_RING_SLOTS * DECODED_CHUNK_BYTES
        chunk = self.ring[start : start + size]  # copied out: the slot can be given back
        with contextlib.suppress(BrokenPipeError):  # the decoder has ended; what it sent is still to be read
            os.write(self.freed, b"\0")
        self.taken += 1
        self.position = position
        self.ended = not size
        return chunk

    def _receive(self, size: int) -> Optional[bytes]:
        """`size` bytes from the decoder's pipe, None if it ended first (closed or died). Waited for in slices: a
        Ctrl-C or SIGTERM taken by another thread of this process does not interrupt the wait (check_signals)."""
        data = b""
        while len(data) < size:
            while not select.select([self.filled], [], [], WAIT_SLICE_SECONDS)[0]:
                check_signals()
                # (the pipe's end shows when the decoder dies, unless a process forked meanwhile holds its write end)
                if not self.process.is_alive() and not select.select([self.filled], [], [], 0)[0]:
                    return None
            part = os.read(self.filled, size - len(data))
            if not part:
                return None
            data += part
        return data

    def _died(self) -> WorkerDied:
        """The error for a decoder that ended without its end record or error (killed)."""
        self.process.join(DECODER_WAIT_SECONDS)
        code = self.process.exitcode
        how = exit_reason(code) if code is not None else "not ended"
        return WorkerDied(f"the gzip decoder process stopped before the end of the data ({how})")

    def _close_fds(self, fds: List[int]) -> None:
        while fds:
            os.close(fds.pop())

    def close(self) -> None:
        # The decoder, writing a record or waiting for a slot, sees its pipes closed and ends; terminate() in case it
        # is elsewhere (held by the tests, or inflating).
        self._close_fds(self.theirs)
        opened = [fd for fd in (self.filled, self.freed) if fd >= 0]
        self.filled = self.freed = -1
        self._close_fds(opened)
        try:
            if self.process.pid is not None:  # started
                self.stop.set()  # before terminate()'s SIGTERM: see StopFlag
                self.process.terminate()
                self.process.join()
        finally:
            self.raw.close()
            self.ring.close()


_RECORD = struct.Struct("=qq")  # the gzip decoder process's record of a filled slot: length, compressed position


def _decode_gzip(
    raw: IO[bytes], ring: mmap.mmap, filled: int, freed: int, parents: Tuple[int, int], stop: StopFlag
) -> None:
    """The gzip decoder process (_GzipProcess): fills the ring's slots in order while it has free ones, sending a
    record for each; then the end record, or the error's record and the pickled error (with its compressed offset).
    Ends quietly when this process's parent closes the pipes (it stopped) or is gone."""
    ignore_interrupts(stop)  # (and the tests' hold: `{hold}.worker-PID`, TEST_HOLD_ENV)
    for fd in parents:  # the parent's ends: the decoder sees the pipes close when the parent closes them
        os.close(fd)
    parent = os.getppid()
    view = memoryview(ring)
    slots = len(ring) // DECODED_CHUNK_BYTES
    free, index = slots, 0
    with raw:
        try:
            reader = _gzip_reader(raw)
            while True:
                while not free:
                    if select.select([freed], [], [], WAIT_SLICE_SECONDS)[0]:
                        free = len(os.read(freed, slots))
                        if not free:
                            return  # the parent closed the pipe: it stopped
                    elif os.getppid() != parent:
                        return  # the parent is gone
                start = index % slots * DECODED_CHUNK_BYTES
                size = _fill(reader, view[start : start + DECODED_CHUNK_BYTES])
                os.write(filled, _RECORD.pack(size, raw.tell()))  # (a write of 16 bytes to a pipe is whole)
                if not size:
                    return
                free, index = free - 1, index + 1
        except BrokenPipeError:
            return  # the parent stopped
        except BaseException as err:  # noqa: BLE001 - every failure reaches the parent, which raises it
            error = _gzip_error(err, raw.tell())
            try:
                pickled = pickle.dumps(error)
            except Exception:  # noqa: BLE001 - an error that does not pickle goes by its text
                pickled = pickle.dumps(RuntimeError(f"{type(error).__name__}: {error}"))
            with contextlib.suppress(BrokenPipeError):
                message = memoryview(_RECORD.pack(-len(pickled), raw.tell()) + pickled)
                while message:
                    message = message[os.write(filled, message) :]


def _gzip_reader(raw: IO[bytes]) -> Any:
    """ISA-L's gzip reader of `raw`, whose readinto() decompresses straight into the buffer it is given: the C reader
    under IGzipFile (whose own readinto() would read into a new bytes object and copy it) where isal has it."""
    reader = getattr(isal_zlib, "_GzipReader", None)
    return reader(raw, igzip.READ_BUFFER_SIZE) if reader is not None else igzip.IGzipFile(fileobj=raw, mode="rb")


def _fill(reader: Any, slot: memoryview) -> int:
    """Decompress into `slot` until it is full or the data ends; the bytes written."""
    size = 0
    while size < len(slot):
        n = reader.readinto(slot[size:])
        if not n:
            break
        size += n
    return size


@contextlib.contextmanager
def _gzip_decoded(path: Path, process: bool) -> Iterator[Tuple[Any, Callable[[], int]]]:
    """The decompressed stream of a gzip file and a function giving the compressed position of the data taken so far:
    the one place where the decoder is chosen: a _GzipProcess when `process` and fork are available and the process
    starts, else a _GzipDecoder thread. The decoder and the file are closed however the block ends."""
    with contextlib.ExitStack() as stack:
        decoder: Union[_GzipProcess, _GzipDecoder, None] = None
        if process and "fork" in multiprocessing.get_all_start_methods():
            decoder = stack.enter_context(contextlib.closing(_GzipProcess(path)))
            try:
                decoder.start()
            except OSError:  # the process did not start (a limit on processes, on memory): the thread instead
                stack.close()
                decoder = None
        if decoder is None:
            decoder = stack.enter_context(contextlib.closing(_GzipDecoder(path)))
            decoder.start()
        chosen = decoder
        yield _ChunkStream(chosen.next_chunk), lambda: chosen.position


ISAL_ERROR = cast(type, igzip_lib.IsalError)  # ISA-L's decoding error (its stub declares it an instance)


def _gzip_error(err: BaseException, offset: int) -> BaseException:
    """The decoding error as the rest of the step knows it (READ_ERRORS), with its compressed offset: EOFError for
    data that ends early, gzip.BadGzipFile (an OSError) for corrupt data (ISA-L's own error is neither)."""
    if isinstance(err, gzip.BadGzipFile) and "CRC" in str(err):
        err = gzip.BadGzipFile(f"CRC32 mismatch ({err})")
    elif isinstance(err, ISAL_ERROR):
        err = gzip.BadGzipFile(f"corrupt deflate data ({err})")
    elif not isinstance(err, READ_ERRORS):
        return err
    cast(Any, err).compressed_offset = offset
    return err


class _ChunkStream:
    """The decompressed data of a gzip decoder (_GzipDecoder or _GzipProcess) as a stream: `read1` returns the chunks
    as they come, without copying them; `read` and `readline` (for the file's head) join chunks as needed."""

    def __init__(self, next_chunk: Callable[[], bytes]):
        self.next_chunk = next_chunk
        self.buffer = b""

    def read1(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is buffered, or the next chunk, when -1); b"" only at the end."""
        if not self.buffer:
            self.buffer = self.next_chunk()
        if 0 <= size < len(self.buffer):
            data, self.buffer = self.buffer[:size], self.buffer[size:]
            return data
        data, self.buffer = self.buffer, b""
        return data

    def read(self, size: int = -1) -> bytes:
        parts: List[bytes] = []
        wanted = size
        while wanted != 0:
            part = self.read1(wanted)
            if not part:
                break
            parts.append(part)
            if wanted > 0:
                wanted -= len(part)
        return b"".join(parts)

    def readline(self) -> bytes:
        parts: List[bytes] = []
        while True:
            if not self.buffer:
                self.buffer = self.next_chunk()
                if not self.buffer:
                    break
            end = self.buffer.find(b"\n") + 1
            if end:
                parts.append(self.buffer[:end])
                self.buffer = self.buffer[end:]
                break
            parts.append(self.buffer)
            self.buffer = b""
        return b"".join(parts)


@contextlib.contextmanager
def _decoded(path: Path, threads: int) -> Iterator[Tuple[IO[bytes], None]]:
    """The decompressed stream of a compressed file, decoded by a process of its own and read through a pipe. A
    decoding error (its compressed offset in `compressed_offset`) is raised when the data before it has been read."""
    read_fd, write_fd = os.pipe()
    with contextlib.suppress(OSError, AttributeError, ImportError):  # Linux: a larger pipe, fewer switches
        import fcntl  # noqa: PLC0415 - not on every platform

        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    context = multiprocessing.get_context("fork")
    status_in, status_out = context.Pipe(duplex=False)
    stop = StopFlag(context)
    process = context.Process(
        target=_decode, args=(str(path), threads, read_fd, write_fd, status_out, stop), daemon=True
    )
    stream = _StatusReader(os.fdopen(read_fd, "rb", buffering=0), status_in)
    try:
        with signals_deferred():  # a signal within start() would leave the process running, not stopped here
            process.start()
            os.close(write_fd)
            status_out.close()
        yield cast(IO[bytes], io.BufferedReader(stream, buffer_size=PIPE_BYTES)), None
    finally:
        stream.close()
        status_in.close()
        if process.pid is not None:  # started
            stop.set()  # before terminate()'s SIGTERM: see StopFlag
            process.terminate()
            process.join()


class _StatusReader(io.RawIOBase):
    """The read end of the decoder's pipe: at its end, raises the decoder's error, if any."""

    def __init__(self, pipe: Any, status: Any):
        super().__init__()
        self.pipe, self.status = pipe, status
        self.error: Optional[BaseException] = None
        self.ended = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        # The decoder's progress is waited for in slices: a Ctrl-C or SIGTERM taken by another thread of this
        # process does not interrupt a read (util.check_signals).
        while not select.select([self.pipe], [], [], WAIT_SLICE_SECONDS)[0]:
            check_signals()
        n = self.pipe.readinto(buffer)
        if not n and len(buffer):
            if not self.ended:
                self.ended = True
                try:
                    self.error = (
                        self.status.recv()
                        if self.status.poll(DECODER_WAIT_SECONDS)
                        else EOFError("the decoding process gave no word after the end of its data")
                    )
                except EOFError:  # the decoder died without a word (killed)
                    self.error = EOFError("the decoding process stopped before the end of the data")
            if self.error is not None:
                raise self.error
        return n

    def close(self) -> None:
        self.pipe.close()
        super().close()


def _decode(path: str, threads: int, read_fd: int, write_fd: int, status: Any, stop: StopFlag) -> None:
    """The decoder process: decompressed bytes to the pipe, then None or the error (with its compressed offset)."""
    ignore_interrupts(stop)
    os.close(read_fd)
    error: Optional[BaseException] = None
    with os.fdopen(write_fd, "wb", buffering=0) as out, _in_process(Path(path), threads) as (stream, position):
        try:
            while block := stream.read(SCAN_BYTES):
                view = memoryview(block)
                while view:
                    view = view[out.write(view) :]
        except BrokenPipeError:
            return  # the reader stopped
        except READ_ERRORS as err:
            cast(Any, err).compressed_offset = position() if position else None
            error = err
    status.send(error)


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
    """Takes piece results in input order: writes the outputs, counts, skips entity ids already seen (in the same
    file or an earlier one: the first occurrence is kept) and stops once there are too many bad lines."""

    def __init__(self, entities_out: Any, subclass_out: Any, max_bad_lines: int):
        self.entities_out = entities_out
        self.subclass_out = subclass_out
        self.max_bad_lines = max_bad_lines
        self.seen = SeenIds()
        self.counts: Dict[str, int] = dict.fromkeys(STAT_KEYS, 0)
        self.first_bad_lines: List[str] = []
        self.first_duplicates: List[str] = []
        self.file_lines = 0  # lines of the current file so far
        self.closed: Optional[bool] = None  # its last line that is not blank (so far) is `]`

    def start_file(self) -> None:
        self.file_lines = 0
        self.closed = None

    def add(self, path: Path, result: PieceResult) -> None:
        offset = self.file_lines
        self.file_lines += result.lines
        self.counts["lines"] += result.lines
        self.counts["prefiltered"] += result.prefiltered
        self.counts["bytes_decompressed"] += result.size
        if result.closed is not None:
            self.closed = result.closed
        for number in result.bad:
            self._bad_line(path, offset + number)
        entity_lines, pair_lines = [], []
        for qid, number, tags, line, pairs in result.rows:
            if not self.seen.add(qid):
                self.counts["duplicate_entities"] += 1
                if len(self.first_duplicates) < FIRST_BAD_LINES:
                    self.first_duplicates.append(f"{qid} at {path}:{offset + number}")
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


def _read_error(path: Path, err: BaseException, number: int, decompressed: int, offset: Optional[int]) -> InputError:
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
    if isinstance(err, WorkerDied):  # not the file's fault
        where = f" at compressed byte {offset:,}," if offset is not None else ""
        return InputError(
            path,
            f"cannot be read:{where} {after}: {err}",
            offset=offset,
            hint="the file itself may be fine: run the step again",
        )
    if offset is not None:
        return InputError(
            path, f"{what} at or before compressed byte {offset:,}, {after}: {detail}", offset=offset, hint=REFETCH_HINT
        )
    return InputError(path, f"{what} {after}: {detail}", line=number + 1, hint=REFETCH_HINT)


def _check_array_closed(path: Path, first: bytes, closed: Optional[bool], number: int, decompressed: int) -> None:
    """InputError if the input opens a JSON array on a line of its own (the dump layout) and its last line is not the
    `]` that closes it: the file was cut, even if at a line or a gzip member / bz2 stream boundary. Newline-delimited
    input (no `[`) has no end marker and cannot be checked."""
    if _json_text(first) != b"[" or closed:
        return
    raise InputError(
        path,
        f"is truncated: its JSON array (`[` on its first line) is not closed by a `]` line; the data ends after "
        f"line {number:,} (decompressed byte {decompressed:,}, the end of the file)",
        offset=os.path.getsize(path),
        hint=CUT_HINT,
    )


@writes_step("parse-wikidata")
def parse_wikidata(
    inputs: Sequence[PathLike],
    output_dir: PathLike,
    lang: str = defaults.LANG,
    n_process: int = 1,
    max_bad_lines: int = defaults.MAX_BAD_LINES,
    piece_bytes: int = PIECE_BYTES,
    progress: bool = True,
    scheduler: str = defaults.SCHEDULER,
) -> Dict[str, Any]:
    """Run the stage on one or more dump files (in order; an entity id seen before, in the same file or an earlier
    one, is skipped and counted as `duplicate_entities`; a dump array not closed by `]` is an InputError). Pieces
    run in this process (n_process <= 1), in n_process worker processes, or on the Dask cluster at `scheduler`.
    Writes entities.jsonl, subclass_of.tsv and stats.json atomically; returns the stats."""
    paths = [Path(p) for p in inputs]
    output_dir = Path(output_dir)
    stats = StepStats("parse-wikidata")
    # Compressed input with n_process > 1: a decoder process (for gzip: over shared memory) decompresses, this process
    # pre-filters, and n_process - 1 workers parse (with 2: this process parses too; a pool of workers was measured
    # slower for gzip, see the module's docstring).
    compressed = any(compression_of(p) != "plain" for p in paths)
    workers = n_process - 1 if compressed and n_process > 1 else n_process
    with (
        executor(workers, scheduler) as pool,
        atomic_open(output_dir / ENTITIES_FILE, "wb") as entities_out,
        atomic_open(output_dir / SUBCLASS_FILE, "wb") as subclass_out,
    ):
        collector = _Collector(entities_out, subclass_out, max_bad_lines)
        for path in paths:
            reader = _Reader(path, lang, max(1, n_process), piece_bytes, progress, n_process > 1 or bool(scheduler))
            collector.start_file()
            # closing(): the progress bar ends before an error propagates, so the error gets a line of its own
            results = cast(
                Generator[PieceResult, None, None], pool.map_in_order(parse_piece, reader.pieces(), Piece.describe)
            )
            with contextlib.closing(results):
                for result in results:
                    collector.add(path, result)
            if reader.failure:
                err, read, offset = reader.failure
                raise _read_error(path, err, collector.file_lines, read, offset) from err
            _check_array_closed(path, reader.first, collector.closed, collector.file_lines, reader.read)
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
    if scheduler:
        stats["scheduler"] = scheduler
    return stats.write(output_dir / STATS_FILE)
