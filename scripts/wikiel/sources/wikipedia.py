"""The parse-wikipedia stage: stream a MediaWiki `pages-articles` XML export into clean article text,
article links, redirects and link/anchor counts.

Outputs (in the output directory, each written atomically): `siteinfo.json`, `redirects.tsv`,
`link_counts.tsv` and `inlink_counts.tsv` (train articles only), `articles.jsonl`, `stats.json`.

Two ways to read the dump, with the same outputs: one decompression stream read here, whose pages worker
processes clean (any dump); or, for a multistream bz2 dump (`pages-articles-multistream`), ranges of whole bz2
streams that the workers read, decompress and parse themselves (scales with the cores). The streams come from the
dump's index or, without one, from scanning the compressed bytes for stream starts (each verified: a candidate that
is not one makes the rest of the dump be read as one stream). The workers are this machine's processes or a Dask
cluster's (`wikiel.parallel`). Either way the results are merged here in dump order, and the count and redirect
tables spill to disk (`wikiel.spill`) beyond `max_counter_entries`, so memory does not grow with the dump.
"""

from __future__ import annotations

import bz2
import contextlib
import functools
import hashlib
import io
import itertools
import os
import re
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Generator,
    Iterable,
    Iterator,
    List,
    NamedTuple,
    Optional,
    Tuple,
    Union,
    cast,
)
from xml.parsers import expat

import orjson
from tqdm import tqdm

from wikiel import defaults
from wikiel.parallel import Executor, describe_range, executor
from wikiel.sources import languages, wikitext
from wikiel.sources.spill import SpillingCounter, SpillingDict
from wikiel.sources.wikitext import Link, NamespaceInfo, parse_wikitext_columns
from wikiel.util import (
    HAVE_INDEXED_BZIP2,
    InputError,
    OutputError,
    PathLike,
    StepStats,
    atomic_open,
    compression_of,
    normalize_title,
    open_dump,
    read_json,
    silenced_stderr,
    write_json,
    writes_step,
)

if HAVE_INDEXED_BZIP2:
    import indexed_bzip2

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# A Wikimedia project's database name, group 1 the wiki's language: bgwiki, zh_min_nanwiki, enwiktionary
WIKI_DBNAME = re.compile(
    r"([a-z][a-z0-9_]*?)(?:wiki|wiktionary|wikibooks|wikinews|wikiquote|wikisource|wikiversity|wikivoyage)"
)
# A Wikimedia project's page URL, group 1 the wiki's language: https://bg.wikipedia.org/wiki/..., bg.m.wikipedia...
WIKI_HOST = re.compile(
    r"(?:https?:)?//([a-z][a-z0-9-]*)\.(?:m\.)?(?:wikipedia|wiktionary|wikibooks|wikinews|wikiquote|wikisource|"
    r"wikiversity|wikivoyage)\.org(?:[/:?#]|$)",
    re.I,
)
READ_CHUNK = 1 << 20
BATCH_CHARS = 1 << 21  # wikitext characters per worker task (one decompression stream)
CHUNK_BYTES = 2 << 20  # compressed bytes per worker task (multistream dump)
SCAN_BLOCK = 8 << 20  # compressed bytes read at a time when scanning for bz2 stream starts
SCAN_PROBE = 64 << 20  # a bz2 dump without a second stream in its first bytes is read as one stream
HINT_REFETCH = "the file is truncated or not a pages-articles XML dump: delete it and re-run the fetch step"
HINT_INDEX = "the multistream index does not belong to this dump, or one of them is damaged: re-run the fetch step"


def split_of(title: str, dev_percent: float) -> str:
    """'dev' for a stable `dev_percent` share of titles (by MD5 of the title), else 'train'."""
    return "dev" if int(hashlib.md5(title.encode("utf8")).hexdigest(), 16) % 100 < dev_percent else "train"


@dataclass
class SiteInfo:
    """The dump's `<siteinfo>`: database name, title case rule and namespaces (key -> localized name), with its
    `<base>` URL and the root's `xml:lang` (which tell the wiki where export-0.8 and older have no `<dbname>`)."""

    dbname: str = ""
    case: str = "first-letter"
    namespaces: Dict[int, str] = field(default_factory=dict)
    base: str = ""
    xml_lang: str = ""

    @property
    def first_letter_case(self) -> bool:
        return self.case != "case-sensitive"

    def as_json(self, lang: str) -> dict:
        return {
            "lang": lang,
            "dbname": self.dbname,
            "case": self.case,
            "namespaces": {str(k): v for k, v in sorted(self.namespaces.items())},
        }


@dataclass
class Page:
    """One `<page>` of the export; `redirect` is the normalised target title of a redirect page."""

    id: int
    title: str
    ns: int
    text: str
    redirect: Optional[str] = None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _CountingReader:
    """Counts the (decompressed) bytes read and turns decompression failures into InputError."""

    def __init__(self, stream: IO[bytes], path: PathLike):
        self.stream = stream
        self.path = path
        self.bytes = 0

    def read(self, size: int) -> bytes:
        try:
            data = self.stream.read(size)
        except (OSError, EOFError, RuntimeError, ValueError) as err:
            raise InputError(
                self.path,
                f"cannot read or decompress after {self.bytes:,} decompressed bytes: {err}",
                offset=self._file_offset(),
                hint=HINT_REFETCH,
            ) from err
        self.bytes += len(data)
        return data

    def _file_offset(self) -> Optional[int]:
        """How far into the (compressed) file the reader got, where the stream has a file descriptor."""
        try:
            return os.lseek(self.stream.fileno(), 0, os.SEEK_CUR)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return None


def _siteinfo_of(elem: ET.Element) -> SiteInfo:
    info = SiteInfo()
    for child in elem:
        name = _local(child.tag)
        if name == "dbname":
            info.dbname = (child.text or "").strip()
        elif name == "base":
            info.base = (child.text or "").strip()
        elif name == "case":
            info.case = (child.text or "").strip() or info.case
        elif name == "namespaces":
            for ns in child:
                info.namespaces[int(ns.get("key", "0"))] = (ns.text or "").strip()
    return info


def _page_of(elem: ET.Element, first_letter_case: bool) -> Page:
    page = Page(id=0, title="", ns=0, text="")
    for child in elem:
        name = _local(child.tag)
        if name == "title":
            page.title = child.text or ""
        elif name == "ns":
            page.ns = int(child.text or 0)
        elif name == "id":
            page.id = int(child.text or 0)
        elif name == "redirect":
            page.redirect = normalize_title(child.get("title", ""), first_letter_case) or None
        elif name == "revision":
            for sub in child:
                if _local(sub.tag) == "text":
                    page.text = sub.text or ""
    return page


class DumpReader:
    """Stream a MediaWiki export: iterating yields first a SiteInfo (defaults if the dump has none), then
    every Page. Memory stays bounded: each page element is dropped once read. Malformed XML -> InputError."""

    def __init__(self, stream: IO[bytes], path: PathLike):
        self.path = path
        self.reader = _CountingReader(stream, path)

    @property
    def bytes_read(self) -> int:
        """Decompressed bytes read so far."""
        return self.reader.bytes

    def __iter__(self) -> Iterator[Union[SiteInfo, Page]]:
        root: Optional[ET.Element] = None
        siteinfo: Optional[SiteInfo] = None
        depth = 0
        for event, elem in self._events():
            if event == "start":
                depth += 1
                if root is None:
                    root = elem
                    if _local(elem.tag) != "mediawiki":
                        raise InputError(
                            self.path,
                            f"root element is <{_local(elem.tag)}>, not <mediawiki>",
                            hint="give a MediaWiki pages-articles XML export",
                        )
                continue
            depth -= 1
            if depth != 1:
                continue
            name = _local(elem.tag)
            if name == "siteinfo":
                siteinfo = _siteinfo_of(elem)
                siteinfo.xml_lang = root.get(XML_LANG, "") if root is not None else ""
                yield siteinfo
            elif name == "page":
                if siteinfo is None:
                    siteinfo = SiteInfo(xml_lang=root.get(XML_LANG, "") if root is not None else "")
                    yield siteinfo
                yield self._page(elem, siteinfo.first_letter_case)
            assert root is not None
            root.clear()  # drop the finished page

    def _events(self) -> Iterator[Tuple[str, ET.Element]]:
        """XML start/end events; parse errors become InputError."""
        parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
        while True:
            chunk = self.reader.read(READ_CHUNK)
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                # start and end events only: each is (event, element)
                yield from cast(Iterator[Tuple[str, ET.Element]], parser.read_events())
            except ET.ParseError as err:
                raise self._xml_error(err, at_end=not chunk) from err
            if not chunk:
                return

    def _xml_error(self, err: ET.ParseError, at_end: bool) -> InputError:
        line, column = err.position
        if self.bytes_read == 0:
            return InputError(self.path, "is empty", hint="re-run the fetch step")
        if line <= 1 and column == 0:
            return InputError(self.path, f"is not XML ({err})", line=line, hint=HINT_REFETCH)
        if at_end:
            return InputError(
                self.path, f"the XML ends in the middle of an element ({err})", line=line, hint=HINT_REFETCH
            )
        return InputError(self.path, f"malformed XML ({err})", line=line, hint=HINT_REFETCH)

    def _page(self, elem: ET.Element, first_letter_case: bool) -> Page:
        try:
            return _page_of(elem, first_letter_case)
        except ValueError as err:
            raise InputError(self.path, f"bad <page> ({err})", hint=HINT_REFETCH) from err


class _Unusual(Exception):
    """What `expat_pages` leaves to DumpReader: malformed XML (DumpReader raises its InputError), a DOCTYPE, an
    encoding other than UTF-8, a root other than <mediawiki>, a number that is not one (<ns>, <id>, a namespace
    key)."""


def _raise_unusual(*_: object) -> None:
    raise _Unusual()


def expat_pages(xml: bytes) -> Iterator[Page]:
    """The Pages of a whole MediaWiki export in memory, equal to those DumpReader yields, read with expat itself
    (the parser under DumpReader's ElementTree) with its character data buffered: one callback per text node
    instead of one per line and entity, and no element tree (about 45% less CPU). Raises _Unusual (see there) where
    the caller must use DumpReader instead, possibly after some pages.

    It follows DumpReader and `_page_of`: of each `<page>` child of the root, the direct children `title`, `ns`, `id`
    (ElementTree's `.text`: the text before any child element), `redirect` (its `title` attribute) and the `text`
    children of each `revision` child, the last one of each winning; the title case rule of a page is that of the
    last `<siteinfo>` before it (`<case>`), first-letter without one."""
    parser = expat.ParserCreate(namespace_separator="}")  # as ElementTree: names are "{uri}local" -> "uri}local"
    parser.buffer_text = True
    parser.buffer_size = READ_CHUNK
    pages: List[Page] = []
    page = Page(id=0, title="", ns=0, text="")
    first_letter_case = True
    case = ""
    depth = 0
    parent = ""  # the root's child being read: "page", "siteinfo" or another
    in_child = ""  # the child of that being read
    capture: Optional[List[str]] = None  # the text of the element being read, until its first child element
    capture_name = ""
    capture_depth = 0

    def finish() -> None:
        """Store the captured text (ElementTree's `.text`, "" for None) where `_page_of`/`_siteinfo_of` put it."""
        nonlocal capture, case
        assert capture is not None
        value = "".join(capture)
        capture = None
        try:
            if capture_name == "text":
                page.text = value
            elif capture_name == "title":
                page.title = value
            elif capture_name == "ns":
                page.ns = int(value or 0)
            elif capture_name == "id":
                page.id = int(value or 0)
            else:  # the siteinfo's case
                case = value.strip() or case
        except ValueError:
            raise _Unusual() from None

    def start(name: str, attrs: Dict[str, str]) -> None:
        nonlocal depth, capture, capture_name, capture_depth, page, parent, in_child, case
        if capture is not None:
            finish()  # a child element ends the parent's .text
        depth += 1
        local = name.rsplit("}", 1)[-1]
        if depth == 3:
            in_child = local
            if parent == "page":
                if local in ("title", "ns", "id"):
                    capture, capture_name, capture_depth = [], local, depth
                elif local == "redirect":
                    page.redirect = normalize_title(attrs.get("title", ""), first_letter_case) or None
            elif parent == "siteinfo" and local == "case":
                capture, capture_name, capture_depth = [], local, depth
        elif depth == 4:
            if parent == "page" and in_child == "revision" and local == "text":
                capture, capture_name, capture_depth = [], local, depth
            elif parent == "siteinfo" and in_child == "namespaces":
                try:
                    int(attrs.get("key", "0"))
                except ValueError:
                    raise _Unusual() from None
        elif depth == 2:
            parent = local
            if local == "page":
                page = Page(id=0, title="", ns=0, text="")
            elif local == "siteinfo":
                case = "first-letter"
        elif depth == 1 and local != "mediawiki":
            raise _Unusual()

    def end(name: str) -> None:
        nonlocal depth, first_letter_case, parent
        if capture is not None and depth == capture_depth:
            finish()
        if depth == 2:
            if parent == "page":
                pages.append(page)
            elif parent == "siteinfo":
                first_letter_case = case != "case-sensitive"
            parent = ""
        depth -= 1

    def characters(data: str) -> None:
        if capture is not None:
            capture.append(data)

    def declaration(version: str, encoding: Optional[str], standalone: int) -> None:
        if encoding is not None and encoding.lower() != "utf-8":
            raise _Unusual()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.XmlDeclHandler = declaration
    parser.StartDoctypeDeclHandler = _raise_unusual
    if xml[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise _Unusual()  # UTF-16
    view = memoryview(xml)
    try:
        for offset in range(0, len(xml), READ_CHUNK):
            parser.Parse(view[offset : offset + READ_CHUNK], False)
            yield from pages
            pages.clear()
        parser.Parse(b"", True)
    except expat.ExpatError:
        raise _Unusual() from None
    yield from pages


def redirect_target(text: str, lang: str = defaults.LANG, first_letter_case: bool = True) -> Optional[str]:
    """The normalised target of a `#REDIRECT [[Target]]` text (localized keywords allowed), else None."""
    match = _redirect_re(lang).match(text)
    if match is None:
        return None
    return normalize_title(match.group(1), first_letter_case) or None


_REDIRECT_RES: Dict[str, re.Pattern[str]] = {}


def _redirect_re(lang: str) -> re.Pattern[str]:
    if lang not in _REDIRECT_RES:
        keywords = sorted(set(languages.redirect_keywords(lang)), key=lambda word: (-len(word), word))
        _REDIRECT_RES[lang] = re.compile(
            r"\s*(?:" + "|".join(map(re.escape, keywords)) + r")\s*:?\s*\[\[([^\[\]|\n]+)", re.I
        )
    return _REDIRECT_RES[lang]


# --- parsing pages, in this process or in workers -----------------------------------------------------------


@dataclass(frozen=True)
class ParseOptions:
    """What a worker needs besides the pages."""

    namespaces: NamespaceInfo
    first_letter_case: bool
    dev_percent: float
    lang: str

    @classmethod
    def of(cls, siteinfo: SiteInfo, settings: Settings) -> ParseOptions:
        return cls(
            NamespaceInfo.from_siteinfo(siteinfo.namespaces, settings.lang),
            siteinfo.first_letter_case,
            settings.dev_percent,
            settings.lang,
        )


@dataclass
class Chunk:
    """What a run of consecutive pages yields; the main process merges chunks in dump order."""

    counts: Counter = field(default_factory=Counter)  # stats counts: pages, articles, redirects ...
    redirects: List[Tuple[str, str]] = field(default_factory=list)  # (title, target), in dump order
    articles: List[Tuple[str, bytes]] = field(default_factory=list)  # (split, articles.jsonl line)
    links: Counter = field(default_factory=Counter)  # "anchor\ttarget" -> count, train articles only
    bytes_read: int = 0  # decompressed bytes, where the pages were decompressed
    end: int = 0  # a range of bz2 streams: the byte where it ends


def parse_pages(pages: Iterable[Page], options: ParseOptions) -> Chunk:
    """Sort pages into other namespaces, redirects, empty pages and articles, and clean the articles."""
    chunk = Chunk()
    counts = chunk.counts
    for page in pages:
        counts["pages"] += 1
        if page.ns != 0:
            counts["other_namespace_pages"] += 1
            continue
        target = page.redirect or redirect_target(page.text, options.lang, options.first_letter_case)
        if target:
            counts["redirects"] += 1
            if _tsv_safe(page.title):
                chunk.redirects.append((page.title, target))
            continue
        if not page.text.strip():
            counts["empty_pages"] += 1
            continue
        text, links = parse_wikitext_columns(page.text, options.namespaces, options.first_letter_case)
        split = split_of(page.title, options.dev_percent)
        chunk.articles.append(
            (
                split,
                orjson.dumps(
                    {
                        "id": page.id,
                        "title": page.title,
                        "split": split,
                        "text": text,
                        "links": list(zip(links.starts, links.ends, links.targets)),  # [start, end, target] arrays
                    }
                )
                + b"\n",
            )
        )
        counts["articles"] += 1
        counts[f"{split}_articles"] += 1
        counts["links"] += len(links.targets)
        if split == "train":
            counts["train_links"] += len(links.targets)
            chunk.links.update(_anchor_target_pairs(links.anchors, links.targets))
    return chunk


# --- source 1: one decompression stream (plain, gz or bz2; indexed_bzip2 threads), pages cleaned by workers --

PageBatch = Tuple[ParseOptions, List[Page]]


def _parse_batch(task: PageBatch) -> Chunk:
    options, pages = task
    return parse_pages(pages, options)


def _batches(pages: Iterable[Page], options: ParseOptions) -> Iterator[PageBatch]:
    batch: List[Page] = []
    size = 0
    for page in pages:
        batch.append(page)
        size += len(page.text)
        if size >= BATCH_CHARS:
            yield options, batch
            batch, size = [], 0
    if batch:
        yield options, batch


def _describe_batch(dump: Path) -> Callable[[PageBatch], str]:
    def describe(task: PageBatch) -> str:
        pages = task[1]
        return f"{dump} pages {pages[0].id}-{pages[-1].id}" if pages else str(dump)

    return describe


def _single_stream(dump: Path, settings: Settings, ex: Executor) -> Generator[Union[SiteInfo, Chunk], None, None]:
    """The dump's SiteInfo, then its Chunks in order: read here, cleaned by the executor's workers."""
    with open_dump(dump, threads=settings.n_process) as stream:
        yield from _pages_of_stream(DumpReader(stream, dump), dump, settings, ex)


def _pages_of_stream(
    reader: DumpReader, dump: Path, settings: Settings, ex: Executor
) -> Generator[Union[SiteInfo, Chunk], None, None]:
    items = iter(reader)
    siteinfo = cast(Optional[SiteInfo], next(items, None)) or SiteInfo()  # DumpReader yields it first
    yield siteinfo
    pages = cast(Iterator[Page], items)
    yield from ex.map_in_order(
        _parse_batch, _batches(pages, ParseOptions.of(siteinfo, settings)), _describe_batch(dump)
    )
    yield Chunk(bytes_read=reader.bytes_read)


# --- source 2: a multistream bz2 dump split by its index, each range read and decompressed by a worker -------


def chunk_bounds(index: Path, dump: Path, chunk_bytes: int) -> List[int]:
    """Byte offsets that cut a multistream dump into ranges of whole bz2 streams of about `chunk_bytes`.

    The first bound is the first page stream (the `<siteinfo>` header stream is before it), the last is the file
    size. The index (`offset:page_id:title` lines, one per page) must list positive, non-decreasing offsets
    inside the dump; else InputError naming the index line."""
    size = dump.stat().st_size
    bounds: List[int] = []
    previous = 0
    with open_dump(index) as lines:
        for line_no, line in enumerate(lines, 1):
            head = line.split(b":", 1)[0]
            if not head.isdigit():
                raise InputError(
                    index, f"not an 'offset:page_id:title' line: {line[:100]!r}", line=line_no, hint=HINT_INDEX
                )
            offset = int(head)
            if offset < previous or offset == 0:  # (the header stream is at 0)
                raise InputError(
                    index,
                    f"offset {offset:,} is not after the previous stream at {previous:,}",
                    line=line_no,
                    hint=HINT_INDEX,
                )
            if offset == previous:
                continue
            if offset >= size:
                raise InputError(
                    index,
                    f"offset {offset:,} is beyond the end of {dump} ({size:,} bytes)",
                    line=line_no,
                    hint=HINT_INDEX,
                )
            if not bounds or offset - bounds[-1] >= chunk_bytes:
                bounds.append(offset)
            previous = offset
    if not bounds:
        raise InputError(index, "lists no pages", hint=HINT_INDEX)
    return bounds + [size]


class _NotWholeStreams(InputError):
    """A range between scanned stream starts that is not whole bz2 streams of whole pages: a false stream start, or
    a multistream file whose streams cut pages (e.g. compressed by pbzip2). The rest is read as one stream."""


def _decompress_range(dump: Path, start: int, end: int, scanned: bool = False) -> bytes:
    """Bytes `start`..`end` of a bz2 file, which must be whole (concatenated) streams, decompressed. Unlike
    bz2.decompress, which ignores whatever follows a damaged stream after the first, all damage is an error.
    `scanned`: the bounds come from `stream_starts`, not from an index; a bound that turns out not to be a stream
    start raises _NotWholeStreams.

    indexed_bzip2 decodes (one thread: ~30% less CPU than Python's bz2 on enwiki's streams); where it fails or
    stops before the range's last byte (it ignores what follows the last whole stream), Python's bz2 decodes the
    range again, stream by stream, and names the damage and its byte."""
    with open(dump, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        f.seek(start)
        rest = f.read(end - start)
    decoded = _fast_decompress(rest)
    if decoded is not None:
        return decoded
    hint = HINT_REFETCH if scanned else HINT_INDEX
    parts = []
    while rest:
        stream = end - len(rest)
        decompressor = bz2.BZ2Decompressor()
        try:
            parts.append(decompressor.decompress(rest))
        except OSError as err:
            if scanned and stream == start:
                raise _NotWholeStreams(dump, f"no bz2 stream starts at byte {start:,} ({err})", offset=start) from err
            raise InputError(
                dump, f"the bz2 stream at byte {stream:,} cannot be decompressed ({err})", offset=stream, hint=hint
            ) from err
        if not decompressor.eof:
            if scanned and end < size:
                raise _NotWholeStreams(
                    dump, f"the bz2 stream at byte {stream:,} goes on after byte {end:,}", offset=end
                )
            raise InputError(
                dump, f"the bz2 stream at byte {stream:,} is cut off at byte {end:,}", offset=stream, hint=hint
            )
        rest = decompressor.unused_data
    return b"".join(parts)


def _fast_decompress(data: bytes) -> Optional[bytes]:
    """`data`, whole bz2 streams, decompressed by indexed_bzip2 on one thread; None where it fails or does not
    end on the last byte of `data` (bytes that are no stream after one: the caller's bz2 pass says what is wrong),
    and where its own warning about such bytes, which it writes to the process's stderr, cannot be silenced
    (`silenced_stderr`: in a local pool's workers it can; not in the main process or a Dask worker's threads)."""
    if not HAVE_INDEXED_BZIP2 or not data:
        return None
    with silenced_stderr() as silenced:
        if not silenced:
            return None
        try:
            with indexed_bzip2.open(io.BytesIO(data), parallelization=1) as stream:
                decoded = stream.read()
                if stream.tell_compressed() != 8 * len(data):
                    return None
        except Exception:  # noqa: BLE001 - any failure: the bz2 pass decodes the range again and reports it
            return None
    return cast(bytes, decoded)


class StreamRange(NamedTuple):
    """A worker's task: bytes `start`..`end` of a multistream dump, whole bz2 streams of `<page>`s."""

    dump: str
    start: int
    end: int
    header: bytes  # the decompressed first stream: <mediawiki ...><siteinfo>...</siteinfo>
    last: bool  # the range ends with the closing </mediawiki>
    options: ParseOptions
    scanned: bool = False  # the bounds were found by stream_starts (verified here), not read from an index


_CLOSING = b"</mediawiki>"


def _check_whole_pages(task: StreamRange, data: bytes) -> None:
    """_NotWholeStreams unless the decompressed range is whole <page> elements (and the closing tag, last)."""
    body = data.strip()
    if task.last and body.endswith(_CLOSING):
        body = body[: -len(_CLOSING)].rstrip()
    elif task.last:
        return  # a dump cut short: the XML parser reports it
    if body and not (body.startswith(b"<page") and body.endswith(b"</page>")):
        raise _NotWholeStreams(
            task.dump,
            f"the bz2 streams at bytes {task.start:,}-{task.end:,} do not hold whole pages",
            offset=task.start,
        )


_PROBE = b'<page><redirect title="a" /></page>'


@functools.lru_cache(maxsize=8)
def _header_case(header: bytes) -> Optional[bool]:
    """The title case rule (first_letter_case) expat_pages gives the pages right after `header` (a multistream dump's
    first stream), found by reading a probe page there; None where the compiled page scanner cannot continue after
    it: expat_pages declines it (not UTF-8, a DOCTYPE, another root ...), it does not end in the root's content
    (the probe would not be one page), or it ends with "]" (a "]]>" could span the boundary)."""
    if header.endswith(b"]"):
        return None
    try:
        pages = list(expat_pages(header + _PROBE + _CLOSING))
    except _Unusual:
        return None
    if len(pages) != 1 or pages[0].redirect not in ("A", "a"):
        return None
    return pages[0].redirect == "A"


def _compiled_pages(header: bytes, data: bytes, last: bool) -> Optional[List[Page]]:
    """The Pages expat_pages reads in `header + data (+ </mediawiki> unless last)`, read by the compiled scanner
    (`scan_pages`, about 4 times faster); None without the compiled module, or where it declines (then expat_pages
    reads the XML)."""
    compiled = wikitext.COMPILED
    if compiled is None:
        return None
    first_letter_case = _header_case(header)
    if first_letter_case is None:
        return None
    rows = compiled.scan_pages(data, last)
    if rows is None:
        return None
    return [
        Page(
            page_id, title, ns, text, None if redirect is None else normalize_title(redirect, first_letter_case) or None
        )
        for page_id, title, ns, text, redirect in rows
    ]


def parse_stream_range(task: StreamRange) -> Chunk:
    """Read, decompress and parse one range of streams (the unit of work of workers on multistream dumps): its pages
    are read by the compiled scanner, else by expat_pages, else (errors, unusual XML) by DumpReader."""
    data = _decompress_range(Path(task.dump), task.start, task.end, task.scanned)
    if task.scanned:
        _check_whole_pages(task, data)
    pages = _compiled_pages(task.header, data, task.last)
    if pages is not None:
        chunk = parse_pages(pages, task.options)
    else:
        xml = task.header + data + (b"" if task.last else _CLOSING)
        try:
            chunk = parse_pages(expat_pages(xml), task.options)
        except _Unusual:  # DumpReader decides: the same pages, or the error
            label = f"{task.dump} (bz2 streams at bytes {task.start:,}-{task.end:,}, after the header)"
            chunk = parse_pages((p for p in DumpReader(io.BytesIO(xml), label) if isinstance(p, Page)), task.options)
    chunk.bytes_read = len(data)
    chunk.end = task.end
    if task.scanned:
        chunk.counts["scanned_ranges"] += 1
    return chunk


def _describe_range(task: StreamRange) -> str:
    return describe_range(task.dump, task.start, task.end)


def _header(dump: Path, end: int) -> Tuple[bytes, SiteInfo]:
    """The decompressed first stream (bytes 0-`end`) and its SiteInfo; InputError if it holds pages."""
    header = _decompress_range(dump, 0, end)
    items = list(DumpReader(io.BytesIO(header + _CLOSING), dump))
    if any(isinstance(item, Page) for item in items):
        raise InputError(
            dump,
            f"bytes 0-{end:,}, before the first stream of the index, hold pages, not just the <siteinfo> header",
            hint=HINT_INDEX,
        )
    siteinfo = items[0] if items else SiteInfo()
    assert isinstance(siteinfo, SiteInfo)
    return header, siteinfo


def _multistream(
    dump: Path, bounds: List[int], settings: Settings, ex: Executor
) -> Generator[Union[SiteInfo, Chunk], None, None]:
    """The dump's SiteInfo (from its first stream), then the Chunks of the ranges between `bounds`, in order."""
    header, siteinfo = _header(dump, bounds[0])
    yield siteinfo
    yield Chunk(bytes_read=len(header))
    options = ParseOptions.of(siteinfo, settings)
    tasks = (
        StreamRange(str(dump), start, end, header, end == bounds[-1], options) for start, end in zip(bounds, bounds[1:])
    )
    yield from ex.map_in_order(parse_stream_range, tasks, _describe_range)


# --- source 3: a multistream bz2 dump without its index: the stream starts found by scanning the bytes -----------

# A bz2 stream: "BZh" and the block size digit, then the magic of its first block (pi) or, for an empty stream, the
# end-of-stream magic (sqrt(pi)). Blocks after the first are not byte-aligned; stream starts are.
_STREAM_START = re.compile(rb"BZh[1-9](?:\x31\x41\x59\x26\x53\x59|\x17\x72\x45\x38\x50\x90)")
_STREAM_END_MAGIC = 0x177245385090
_STREAM_END_BYTES = 11  # 48-bit magic, 32-bit CRC, up to 7 bits of padding


def _ends_a_stream(before: bytes) -> bool:
    """Whether `before` (the 11 bytes before a candidate stream start) ends with a bz2 end-of-stream marker: the
    magic and the stream's CRC, then 0-7 zero bits padding to the byte boundary."""
    bits = int.from_bytes(before, "big")
    return any(
        bits & ((1 << pad) - 1) == 0 and (bits >> (32 + pad)) & 0xFFFFFFFFFFFF == _STREAM_END_MAGIC for pad in range(8)
    )


def stream_starts(dump: Path, block: int = SCAN_BLOCK, limit: int = 0) -> Generator[int, None, None]:
    """The offsets where the bz2 streams of `dump` start (0 first; only those in its first `limit` bytes if that
    is not 0), found by scanning the compressed bytes, `block` bytes at a time (memory does not grow with the dump):
    a stream header and first-block magic, byte-aligned, right after the end-of-stream marker of the previous
    stream. A false positive inside compressed data is then all but impossible, and the workers verify each range
    anyway (_NotWholeStreams)."""
    overlap = len(b"BZh9") + 6 + _STREAM_END_BYTES
    with open(dump, "rb") as f:
        tail = b""
        base = 0  # the file offset of tail[0]
        while True:
            data = f.read(block if not limit else max(0, min(block, limit - base - len(tail))))
            if not data:
                return
            buffer = tail + data
            for match in _STREAM_START.finditer(buffer):
                at = match.start()
                if at + 10 <= len(tail):
                    continue  # found in the previous buffer
                if base + at == 0 or (at >= _STREAM_END_BYTES and _ends_a_stream(buffer[at - _STREAM_END_BYTES : at])):
                    yield base + at
            tail = buffer[-overlap:]
            base += len(buffer) - len(tail)


def _range_bounds(starts: Iterable[int], chunk_bytes: int, size: int) -> Iterator[int]:
    """Stream starts at least `chunk_bytes` apart (the first one given first), then the file size."""
    previous = -1
    for start in starts:
        if previous < 0 or start - previous >= chunk_bytes:
            yield start
            previous = start
    yield size


class _Prefixed:
    """A binary stream reading `prefix`, then `stream`."""

    def __init__(self, prefix: bytes, stream: IO[bytes]):
        self.prefix = prefix
        self.stream = stream

    def read(self, size: int) -> bytes:
        if self.prefix:
            data, self.prefix = self.prefix[:size], self.prefix[size:]
            return data
        return self.stream.read(size)


def _scanned(dump: Path, settings: Settings, ex: Executor) -> Generator[Union[SiteInfo, Chunk], None, None]:
    """A multistream bz2 dump without its index: the SiteInfo of its first stream, then the Chunks of ranges of
    whole streams, parsed by the workers, in order. A dump of one stream (or whose second stream does not start
    within SCAN_PROBE bytes, or whose first one holds pages) is read as one stream; from a range that turns out not
    to be whole streams of whole pages on, the rest of the dump is read as one stream (here, by bz2)."""
    probe = list(itertools.islice(stream_starts(dump, limit=SCAN_PROBE), 2))  # (a 22 GB single stream: not read)
    found: Optional[Tuple[bytes, SiteInfo]] = None
    if len(probe) == 2 and probe[0] == 0:
        with contextlib.suppress(InputError):  # else: not a multistream dump with a header stream
            found = _header(dump, probe[1])
    if found is None:
        yield from _single_stream(dump, settings, ex)
        return
    header, siteinfo = found
    starts = stream_starts(dump)
    with contextlib.closing(starts):
        second = list(itertools.islice(starts, 2))[-1]  # (the probe's)
        yield siteinfo
        yield Chunk(bytes_read=len(header))
        options = ParseOptions.of(siteinfo, settings)
        size = dump.stat().st_size
        bounds = _range_bounds(itertools.chain([second], starts), CHUNK_BYTES, size)
        start = next(bounds)
        tasks = (
            StreamRange(str(dump), a, b, header, b == size, options, scanned=True) for a, b in _pairs(start, bounds)
        )
        done = start  # the end of the ranges merged so far
        try:
            for chunk in ex.map_in_order(parse_stream_range, tasks, _describe_range):
                yield chunk
                done = chunk.end
        except _NotWholeStreams as err:
            print(f"WARNING: {err}: reading the rest of the dump, from byte {done:,}, as one stream", file=sys.stderr)
        else:
            return
    yield from _rest_as_one_stream(dump, header, done, settings, ex)


def _pairs(first: int, rest: Iterator[int]) -> Iterator[Tuple[int, int]]:
    for value in rest:
        yield first, value
        first = value


def _rest_as_one_stream(
    dump: Path, header: bytes, start: int, settings: Settings, ex: Executor
) -> Generator[Chunk, None, None]:
    """The Chunks of the pages in the bz2 streams from byte `start` on (after `header`), decompressed here."""
    with open(dump, "rb") as raw:
        raw.seek(start)
        with bz2.BZ2File(raw) as rest:
            items = _pages_of_stream(DumpReader(cast(IO[bytes], _Prefixed(header, rest)), dump), dump, settings, ex)
            next(items)  # the SiteInfo, known already
            for chunk in cast(Iterator[Chunk], items):
                if chunk.bytes_read:
                    chunk.bytes_read -= len(header)
                yield chunk


# --- the stage ----------------------------------------------------------------------------------------------


@dataclass
class Settings:
    """The stage's options (see the CLI)."""

    lang: str = defaults.LANG
    dev_percent: float = defaults.DEV_PERCENT
    max_train_articles: int = defaults.MAX_TRAIN_ARTICLES  # 0 = no limit
    max_dev_articles: int = defaults.MAX_DEV_ARTICLES
    n_process: int = 1
    max_counter_entries: int = defaults.MAX_COUNTER_ENTRIES  # per table in memory; more spill to sorted runs on disk
    scheduler: str = defaults.SCHEDULER  # a Dask scheduler (address or file) to run the pieces on; "" = this machine


def dump_language(siteinfo: SiteInfo) -> Optional[str]:
    """The wiki's language code (`bg`, `zh-min-nan`) as the dump tells it: from `<dbname>` (`bgwiki`), else from
    `<siteinfo><base>` (`https://bg.wikipedia.org/wiki/...`, Wikimedia projects only), else from the root's
    `xml:lang` (`bg`); None if it tells none of them."""
    dbname = WIKI_DBNAME.fullmatch(siteinfo.dbname)
    if dbname:
        return dbname.group(1).replace("_", "-")
    host = WIKI_HOST.match(siteinfo.base)
    if host:
        return host.group(1).lower()
    return siteinfo.xml_lang.strip().lower() or None


def _check_language(dump: PathLike, siteinfo: SiteInfo, lang: str, option: str = "--lang") -> None:
    """InputError unless the dump's <dbname> is a wiki of `lang` (enwiki, enwiktionary ... for en); without a
    <dbname>, unless its <base> or xml:lang names `lang`'s wiki."""
    if siteinfo.dbname:
        if not re.fullmatch(re.escape(lang.replace("-", "_")) + "wik[a-z]+", siteinfo.dbname):
            raise InputError(
                dump,
                f"is a dump of {siteinfo.dbname}, not of {option} {lang!r}",
                hint="set --lang / vars.lang to the dump's language",
            )
        return
    found = dump_language(siteinfo)
    if found and not same_language(found, lang, exact=bool(WIKI_HOST.match(siteinfo.base))):
        told = f"<base> {siteinfo.base}" if WIKI_HOST.match(siteinfo.base) else f'xml:lang="{siteinfo.xml_lang}"'
        raise InputError(
            dump,
            f"is a dump of the {found!r} wiki (its {told}; it has no <dbname>), not of {option} {lang!r}",
            hint="set --lang / vars.lang to the dump's language",
        )


def same_language(found: str, lang: str, exact: bool = True) -> bool:
    """Whether the wiki code `found` is `lang`; with `exact` False (an `xml:lang`, a language tag rather than
    a wiki code: `zh-Hans`, `en` on simplewiki), whether their first subtags agree."""
    found, lang = found.lower().replace("_", "-"), lang.lower().replace("_", "-")
    if exact or found == lang:
        return found == lang
    return found.split("-")[0] == {"simple": "en"}.get(lang, lang).split("-")[0]


@writes_step("parse-wikipedia")
def parse_wikipedia(
    dump: PathLike,
    output_dir: PathLike,
    settings: Optional[Settings] = None,
    progress: bool = True,
    index: Optional[PathLike] = None,
) -> dict:
    """Run the stage on one dump and write its outputs to `output_dir`; returns the stats dict.

    With more than one worker (n_process > 1, or a Dask `scheduler`) on a multistream bz2 dump, the workers each
    read and decompress their own ranges of whole streams, found in the `index` or by scanning the dump; otherwise
    one stream is decompressed here. The outputs are the same either way, and
    memory does not grow with the dump: the link, inlink and redirect tables spill to sorted runs on disk."""
    dump, output_dir = Path(dump), Path(output_dir)
    settings = settings or Settings()
    stats = StepStats("parse-wikipedia")
    cpu_start = _cpu_seconds()
    for key in (
        "pages",
        "articles",
        "redirects",
        "other_namespace_pages",
        "empty_pages",
        "links",
        "train_links",
        "train_articles",
        "dev_articles",
        "articles_written",
        "index_chunks",
        "scanned_ranges",
    ):
        stats[key] = 0
    limits = {"train": settings.max_train_articles, "dev": settings.max_dev_articles}
    written = {"train": 0, "dev": 0}
    compressed = compression_of(dump)  # InputError if it is missing or a directory
    output_dir.mkdir(parents=True, exist_ok=True)

    # The .tmp-PID suffix lets the next run remove what a killed one left (util.remove_stale_temporaries).
    with tempfile.TemporaryDirectory(prefix=".spill-", suffix=f".tmp-{os.getpid()}", dir=output_dir) as spill_dir:
        links = SpillingCounter(Path(spill_dir), "links", settings.max_counter_entries)
        redirects = SpillingDict(Path(spill_dir), "redirects", settings.max_counter_entries)
        with (
            executor(settings.n_process, settings.scheduler) as ex,  # first: a local pool forks before any thread
            atomic_open(output_dir / "articles.jsonl", "wb") as out,
            tqdm(desc="pages", unit=" pages", disable=not progress, mininterval=1.0) as bar,
        ):
            source: Generator[Union[SiteInfo, Chunk], None, None]
            if ex.workers > 1 and compressed == "bz2" and index is not None:
                bounds = chunk_bounds(Path(index), dump, CHUNK_BYTES)
                stats["index_chunks"] = len(bounds) - 1
                source = _multistream(dump, bounds, settings, ex)
            elif ex.workers > 1 and compressed == "bz2":
                source = _scanned(dump, settings, ex)
            else:
                source = _single_stream(dump, settings, ex)
            with contextlib.closing(source):
                siteinfo = cast(SiteInfo, next(source))
                _check_language(dump, siteinfo, settings.lang)
                bytes_read = 0
                for chunk in cast(Iterator[Chunk], source):
                    for key, n in chunk.counts.items():
                        stats.add(key, n)
                    bytes_read += chunk.bytes_read
                    for title, target in chunk.redirects:
                        redirects.setdefault(title, target)
                    links.update(chunk.links)
                    for split, json_line in chunk.articles:
                        if not limits[split] or written[split] < limits[split]:
                            written[split] += 1
                            out.write(json_line)
                    bar.update(chunk.counts["pages"])
            stats["articles_written"] = sum(written.values())
            stats["input_bytes"] = dump.stat().st_size
            stats["bytes_read"] = bytes_read
            if stats["articles"] == 0:
                raise OutputError(
                    f"no articles in {dump} ({stats['pages']} pages, {stats['redirects']} redirects, "
                    f"{stats['other_namespace_pages']} in other namespaces, {stats['empty_pages']} empty): "
                    "check the --dump path or the 'wikipedia' entry of the manifest"
                )

        write_json(output_dir / "siteinfo.json", siteinfo.as_json(settings.lang))
        _write_tsv(output_dir / "redirects.tsv", redirects.items())
        inlinks = SpillingCounter(Path(spill_dir), "inlinks", settings.max_counter_entries)

        def link_rows() -> Iterator[Tuple[str, int]]:
            for anchor_target, count in links.items():
                inlinks.add(anchor_target.partition("\t")[2], count)
                yield anchor_target, count

        stats["anchor_target_pairs"] = _write_tsv(output_dir / "link_counts.tsv", link_rows())
        stats["distinct_targets"] = _write_tsv(output_dir / "inlink_counts.tsv", inlinks.items())
        stats["spilled_runs"] = links.runs_written + redirects.runs_written + inlinks.runs_written
    # CPU seconds of this process, and with its worker processes (ended by now; not those of a Dask cluster)
    main, total = _cpu_seconds()
    result = stats.as_dict()
    result["cpu_seconds"] = round(total - cpu_start[1], 2)
    result["main_cpu_seconds"] = round(main - cpu_start[0], 2)
    write_json(output_dir / "stats.json", result)
    return result


def _cpu_seconds() -> Tuple[float, float]:
    """CPU seconds (user + system) of this process, and of it and its children that have ended."""
    try:
        import resource  # noqa: PLC0415 - Unix only
    except ImportError:  # pragma: no cover
        return time.process_time(), time.process_time()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    main = own.ru_utime + own.ru_stime
    return main, main + children.ru_utime + children.ru_stime


_TSV_UNSAFE = re.compile(r"[\x00-\n\r]")  # tabs, line breaks and what sorts below tab (see wikiel.spill)
_TSV_UNSAFE_BUT_TAB_AND_LF = re.compile(r"[\x00-\x08\x0b\x0c\r]")


def _link_pairs(links: List[Link]) -> List[str]:
    """ "anchor<TAB>target" of each link whose anchor and target are TSV-safe (non-empty, which links are)."""
    return _anchor_target_pairs([link.anchor for link in links], [link.target for link in links])


def _anchor_target_pairs(anchors: List[str], targets: List[str]) -> List[str]:
    """ "anchor<TAB>target" of each (anchor, target) that is TSV-safe (the columns of `LinkColumns`)."""
    pairs = list(map("\t".join, zip(anchors, targets)))
    # Printable anchors and targets (the common case, checked by one fast scan) hold nothing unsafe; else one search
    # over all pairs instead of two per link: each safe pair holds one tab and no line break.
    if ("".join(anchors) + "".join(targets)).isprintable():
        return pairs
    joined = "\n".join(pairs)
    if joined.count("\t") == len(pairs) and joined.count("\n") == len(pairs) - 1:
        if not _TSV_UNSAFE_BUT_TAB_AND_LF.search(joined):
            return pairs
    return [
        f"{anchor}\t{target}" for anchor, target in zip(anchors, targets) if _tsv_safe(anchor) and _tsv_safe(target)
    ]


def _tsv_safe(value: str) -> bool:
    return bool(value) and not _TSV_UNSAFE.search(value)


def _write_tsv(path: Path, rows: Iterable[Tuple[str, Any]]) -> int:
    """Write (key, value) rows as TSV lines; returns their number."""
    n, it = 0, iter(rows)
    with atomic_open(path, "w") as f:
        for batch in iter(lambda: list(itertools.islice(it, 4096)), []):
            f.write("".join([f"{key}\t{value}\n" for key, value in batch]))
            n += len(batch)
    return n


# --- the manifest -------------------------------------------------------------------------------------------


def dump_from_manifest(manifest: PathLike) -> Path:
    """The Wikipedia dump path recorded in a fetch manifest (`{"wikipedia": {"path", "bytes"}}`);
    a relative path is tried against the working directory, then the manifest's project directory."""
    path = _manifest_file(manifest, "wikipedia", "Wikipedia dump")
    if path is None:
        raise InputError(manifest, "the 'wikipedia' entry is null", hint="re-run the fetch step")
    return path


def index_from_manifest(manifest: PathLike) -> Optional[Path]:
    """The multistream index recorded in a fetch manifest (`"wikipedia_index"`), or None if there is none or it
    is unusable (then a warning is printed and the dump is read as one stream)."""
    try:
        return _manifest_file(manifest, "wikipedia_index", "multistream index")
    except InputError as err:
        print(f"WARNING: {err}; reading the dump without its index", file=sys.stderr)
        return None


def _manifest_file(manifest: PathLike, key: str, what: str) -> Optional[Path]:
    """The existing file of a manifest entry `{key: {"path", "bytes"}}` (None if the entry is null)."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise InputError(manifest, "manifest not found", hint="run the fetch step first")
    try:
        entry = read_json(manifest)[key]
        if entry is None:
            return None
        path = Path(entry["path"])
    except (orjson.JSONDecodeError, KeyError, TypeError) as err:
        raise InputError(
            manifest, f"no valid {key!r} entry with a 'path' ({err!r})", hint="re-run the fetch step"
        ) from err
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, manifest.resolve().parent.parent / path]
    found = next((p for p in candidates if p.exists()), None)
    if found is None:
        raise InputError(
            manifest,
            f"the {what} {path} does not exist (looked at {', '.join(map(str, candidates))})",
            hint="re-run the fetch step",
        )
    expected = entry.get("bytes")
    if isinstance(expected, int) and found.is_file() and found.stat().st_size != expected:
        raise InputError(
            found,
            f"has {found.stat().st_size:,} bytes, the manifest says {expected:,}",
            hint="the download is incomplete: delete it and re-run the fetch step",
        )
    return found
