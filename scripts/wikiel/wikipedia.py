"""The parse-wikipedia stage: stream a MediaWiki `pages-articles` XML export into clean article text,
article links, redirects and link/anchor counts.

Outputs (in the output directory, each written atomically): `siteinfo.json`, `redirects.tsv`,
`link_counts.tsv` and `inlink_counts.tsv` (train articles only), `articles.jsonl`, `stats.json`.
"""
from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import multiprocessing.pool
import re
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, ContextManager, Dict, Iterable, Iterator, List, NamedTuple, Optional, Tuple, Union

import orjson
from tqdm import tqdm

from wikiel.util import (InputError, OutputError, PathLike, StepStats, atomic_open, normalize_title, open_dump,
                         read_json, write_json)
from wikiel.wikitext import NamespaceInfo, parse_wikitext

# Redirect keywords by language (lower-case, with the '#'); English works on every wiki.
REDIRECT_KEYWORDS: Dict[str, Tuple[str, ...]] = {
    "en": ("#redirect",),
    "de": ("#weiterleitung",),
    "fr": ("#redirection",),
    "es": ("#redirección",),
    "it": ("#rinvia", "#rinvio"),
    "nl": ("#doorverwijzing",),
    "pt": ("#redirecionamento",),
    "sv": ("#omdirigering",),
    "pl": ("#patrz", "#przekieruj", "#tam"),
    "ru": ("#перенаправление",),
}
READ_CHUNK = 1 << 20
BATCH_CHARS = 1 << 21  # wikitext characters per worker task
HINT_REFETCH = "the file is truncated or not a pages-articles XML dump: delete it and re-run the fetch step"


def split_of(title: str, dev_percent: float) -> str:
    """'dev' for a stable `dev_percent` share of titles (by MD5 of the title), else 'train'."""
    return "dev" if int(hashlib.md5(title.encode("utf8")).hexdigest(), 16) % 100 < dev_percent else "train"


@dataclass
class SiteInfo:
    """The dump's `<siteinfo>`: database name, title case rule and namespaces (key -> localized name)."""
    dbname: str = ""
    case: str = "first-letter"
    namespaces: Dict[int, str] = field(default_factory=dict)

    @property
    def first_letter_case(self) -> bool:
        return self.case != "case-sensitive"

    def as_json(self, lang: str) -> dict:
        return {"lang": lang, "dbname": self.dbname, "case": self.case,
                "namespaces": {str(k): v for k, v in sorted(self.namespaces.items())}}


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
            raise InputError(self.path, f"cannot read or decompress after {self.bytes:,} bytes: {err}",
                             offset=self.bytes, hint=HINT_REFETCH) from err
        self.bytes += len(data)
        return data


def _siteinfo_of(elem: ET.Element) -> SiteInfo:
    info = SiteInfo()
    for child in elem:
        name = _local(child.tag)
        if name == "dbname":
            info.dbname = (child.text or "").strip()
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
                        raise InputError(self.path, f"root element is <{_local(elem.tag)}>, not <mediawiki>",
                                         hint="give a MediaWiki pages-articles XML export")
                continue
            depth -= 1
            if depth != 1:
                continue
            name = _local(elem.tag)
            if name == "siteinfo":
                siteinfo = _siteinfo_of(elem)
                yield siteinfo
            elif name == "page":
                if siteinfo is None:
                    siteinfo = SiteInfo()
                    yield siteinfo
                yield self._page(elem, siteinfo.first_letter_case)
            assert root is not None
            root.clear()  # drop the finished page

    def _events(self) -> Iterator[Tuple[str, ET.Element]]:
        """XML start/end events; parse errors become InputError."""
        parser = ET.XMLPullParser(events=("start", "end"))
        while True:
            chunk = self.reader.read(READ_CHUNK)
            try:
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
                yield from parser.read_events()
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
            return InputError(self.path, f"the XML ends in the middle of an element ({err})", line=line,
                              hint=HINT_REFETCH)
        return InputError(self.path, f"malformed XML ({err})", line=line, hint=HINT_REFETCH)

    def _page(self, elem: ET.Element, first_letter_case: bool) -> Page:
        try:
            return _page_of(elem, first_letter_case)
        except ValueError as err:
            raise InputError(self.path, f"bad <page> ({err})", hint=HINT_REFETCH) from err


def redirect_target(text: str, lang: str = "en", first_letter_case: bool = True) -> Optional[str]:
    """The normalised target of a `#REDIRECT [[Target]]` text (localized keywords allowed), else None."""
    match = _redirect_re(lang).match(text)
    if match is None:
        return None
    return normalize_title(match.group(1), first_letter_case) or None


_REDIRECT_RES: Dict[str, "re.Pattern[str]"] = {}


def _redirect_re(lang: str) -> "re.Pattern[str]":
    if lang not in _REDIRECT_RES:
        keywords = sorted(set(REDIRECT_KEYWORDS["en"] + REDIRECT_KEYWORDS.get(lang, ())), key=len, reverse=True)
        _REDIRECT_RES[lang] = re.compile(
            r"\s*(?:" + "|".join(map(re.escape, keywords)) + r")\s*:?\s*\[\[([^\[\]|\n]+)", re.I)
    return _REDIRECT_RES[lang]


# --- parsing articles, in this process or in workers ------------------------------------------------------

@dataclass(frozen=True)
class ParseOptions:
    """What a worker needs besides the pages."""
    namespaces: NamespaceInfo
    first_letter_case: bool
    dev_percent: float


class ParsedArticle(NamedTuple):
    """One article, ready for the outputs: its split, its articles.jsonl line, its (anchor, target) links."""
    split: str
    json_line: bytes
    links: List[Tuple[str, str]]


Task = Tuple[ParseOptions, List[Tuple[int, str, str]]]  # options, [(page id, title, wikitext)]


def parse_batch(task: Task) -> List[ParsedArticle]:
    """Clean a batch of articles (the unit of work of the worker processes)."""
    options, pages = task
    parsed = []
    for page_id, title, wikitext in pages:
        text, links = parse_wikitext(wikitext, options.namespaces, options.first_letter_case)
        split = split_of(title, options.dev_percent)
        line = orjson.dumps({"id": page_id, "title": title, "split": split, "text": text,
                             "links": [[link.start, link.end, link.target] for link in links]}) + b"\n"
        parsed.append(ParsedArticle(split, line, [(link.anchor, link.target) for link in links]))
    return parsed


def _tasks(articles: Iterable[Page], options: ParseOptions) -> Iterator[Task]:
    batch: List[Tuple[int, str, str]] = []
    size = 0
    for page in articles:
        batch.append((page.id, page.title, page.text))
        size += len(page.text)
        if size >= BATCH_CHARS:
            yield options, batch
            batch, size = [], 0
    if batch:
        yield options, batch


def _worker_pool(n_process: int) -> ContextManager[Optional[multiprocessing.pool.Pool]]:
    """A pool of `n_process` workers (None for 1). Create it before any thread starts (tqdm, bz2 readers):
    forking then is safe and, unlike spawning, works however the main module was started."""
    if n_process <= 1:
        return contextlib.nullcontext()
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method).Pool(n_process)


def _parsed(articles: Iterable[Page], options: ParseOptions, pool: Optional[multiprocessing.pool.Pool],
            n_process: int) -> Iterator[ParsedArticle]:
    """Each article parsed, in dump order, by the pool's `n_process` workers (or this process if None)."""
    tasks = _tasks(articles, options)
    if pool is None:
        for task in tasks:
            yield from parse_batch(task)
        return
    # Pool.imap pulls tasks in a background thread as fast as it can: the semaphore bounds the batches in
    # flight so memory does not grow with the dump; `stop` lets that thread finish if we exit early. An
    # exception raised while reading the dump in that thread would hang imap, so it is handed over instead.
    slots = threading.Semaphore(4 * n_process)
    stop = threading.Event()
    failure: List[Exception] = []

    def bounded_tasks() -> Iterator[Task]:
        try:
            for task in tasks:
                slots.acquire()
                if stop.is_set():
                    return
                yield task
        except Exception as err:
            failure.append(err)

    try:
        for results in pool.imap(parse_batch, bounded_tasks()):
            slots.release()
            yield from results
    finally:
        stop.set()
        slots.release()
    if failure:
        raise failure[0]


# --- the stage ----------------------------------------------------------------------------------------------

@dataclass
class Settings:
    """The stage's options (see the CLI)."""
    lang: str = "en"
    dev_percent: float = 10
    max_train_articles: int = 0  # 0 = no limit
    max_dev_articles: int = 0
    n_process: int = 1


def parse_wikipedia(dump: PathLike, output_dir: PathLike, settings: Optional[Settings] = None,
                    progress: bool = True) -> dict:
    """Run the stage on one dump and write its outputs to `output_dir`; returns the stats dict."""
    dump, output_dir = Path(dump), Path(output_dir)
    settings = settings or Settings()
    stats = StepStats("parse-wikipedia")
    link_counts: Counter = Counter()
    redirects: Dict[str, str] = {}
    limits = {"train": settings.max_train_articles, "dev": settings.max_dev_articles}
    written = {"train": 0, "dev": 0}
    for key in ("pages", "articles", "redirects", "other_namespace_pages", "empty_pages", "links",
                "train_links", "train_articles", "dev_articles", "articles_written"):
        stats[key] = 0

    with _worker_pool(settings.n_process) as pool, \
            open_dump(dump, threads=settings.n_process) as stream, \
            atomic_open(output_dir / "articles.jsonl", "wb") as out, \
            tqdm(desc="pages", unit=" pages", disable=not progress, mininterval=1.0) as bar:
        reader = DumpReader(stream, dump)
        pages = iter(reader)
        siteinfo = next(pages, None) or SiteInfo()
        assert isinstance(siteinfo, SiteInfo)
        namespaces = NamespaceInfo.from_siteinfo(siteinfo.namespaces, settings.lang)

        def articles() -> Iterator[Page]:
            for page in pages:
                assert isinstance(page, Page)
                stats.add("pages")
                bar.update()
                if page.ns != 0:
                    stats.add("other_namespace_pages")
                    continue
                target = page.redirect or redirect_target(page.text, settings.lang, siteinfo.first_letter_case)
                if target:
                    stats.add("redirects")
                    redirects.setdefault(page.title, target)
                elif not page.text.strip():
                    stats.add("empty_pages")
                else:
                    yield page

        options = ParseOptions(namespaces, siteinfo.first_letter_case, settings.dev_percent)
        for split, json_line, links in _parsed(articles(), options, pool, settings.n_process):
            stats.add("articles")
            stats.add(f"{split}_articles")
            stats.add("links", len(links))
            if split == "train":
                stats.add("train_links", len(links))
                link_counts.update(links)
            if not limits[split] or written[split] < limits[split]:
                written[split] += 1
                out.write(json_line)
        stats["articles_written"] = sum(written.values())
        stats["input_bytes"] = dump.stat().st_size
        stats["bytes_read"] = reader.bytes_read
        if stats["articles"] == 0:
            raise OutputError(
                f"no articles in {dump} ({stats['pages']} pages, {stats['redirects']} redirects, "
                f"{stats['other_namespace_pages']} in other namespaces, {stats['empty_pages']} empty): "
                "check the --dump path or the 'wikipedia' entry of the manifest")

    write_json(output_dir / "siteinfo.json", siteinfo.as_json(settings.lang))
    _write_tsv(output_dir / "redirects.tsv", sorted(redirects.items()))
    inlinks: Counter = Counter()
    rows = []
    for (anchor, target), count in sorted(link_counts.items()):
        if _tsv_safe(anchor) and _tsv_safe(target):
            rows.append((anchor, target, count))
            inlinks[target] += count
    _write_tsv(output_dir / "link_counts.tsv", rows)
    _write_tsv(output_dir / "inlink_counts.tsv", sorted(inlinks.items()))
    stats["distinct_targets"] = len(inlinks)
    stats["anchor_target_pairs"] = len(rows)
    return stats.write(output_dir / "stats.json")


def _tsv_safe(value: str) -> bool:
    return bool(value) and "\t" not in value and "\n" not in value and "\r" not in value


def _write_tsv(path: Path, rows: Iterable[tuple]) -> None:
    with atomic_open(path, "w") as f:
        for row in rows:
            f.write("\t".join(map(str, row)) + "\n")


def dump_from_manifest(manifest: PathLike) -> Path:
    """The Wikipedia dump path recorded in a fetch manifest (`{"wikipedia": {"path", "bytes"}}`);
    a relative path is tried against the working directory, then the manifest's project directory."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise InputError(manifest, "manifest not found", hint="run the fetch step first")
    try:
        entry = read_json(manifest)["wikipedia"]
        path = Path(entry["path"])
    except (orjson.JSONDecodeError, KeyError, TypeError) as err:
        raise InputError(manifest, f"no valid 'wikipedia' entry with a 'path' ({err!r})",
                         hint="re-run the fetch step") from err
    candidates = [path] if path.is_absolute() else [Path.cwd() / path, manifest.resolve().parent.parent / path]
    found = next((p for p in candidates if p.exists()), None)
    if found is None:
        raise InputError(manifest, f"the Wikipedia dump {path} does not exist (looked at "
                         f"{', '.join(map(str, candidates))})", hint="re-run the fetch step")
    expected = entry.get("bytes")
    if isinstance(expected, int) and found.is_file() and found.stat().st_size != expected:
        raise InputError(found, f"has {found.stat().st_size:,} bytes, the manifest says {expected:,}",
                         hint="the download is incomplete: delete it and re-run the fetch step")
    return found
