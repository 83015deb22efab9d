"""Locate the input dumps and describe them in OUTPUT_DIR/manifest.json, the small file the workflow tracks.

Sources:
- `dumps`: download the real Wikimedia dumps (resumable; optionally checked against published checksums);
- `excerpts`: point at the real excerpts in ../shared/data (offline, nothing copied);
- `world`: generate a small synthetic world with `wikiel.world` (offline);
- `custom` (`--kb custom`): your own knowledge graph, files in the formats of `wikiel.custom`; the manifest points
  at them (`entities`, `mentions`, `priors`) and the parse steps convert them instead of parsing dumps.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from tqdm import tqdm

from .util import InputError, PathLike, read_json, write_json

DUMPS_SITE = "https://dumps.wikimedia.org"
SOURCES = ("dumps", "excerpts", "world")
KBS = ("wikidata", "custom")  # --kb: Wikidata + Wikipedia (from --source), or your own knowledge graph
WIKIDATA_FORMATS = ("gz", "bz2")
MANIFEST_FILE = "manifest.json"

EXCERPTS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"
EXCERPT_WIKIDATA = ("sample_wikidata_items.json.bz2", "twenty_entities.json.bz2", "short_stream.json.bz2",
                    "Q31.json", "syvb_Q1.json", "syvb_Q42.json")
EXCERPT_WIKIPEDIA = "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"

SHA1_MAX_BYTES = 64 << 20      # files up to this size get a sha1 in the manifest
CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60
USER_AGENT = "wikiel-fetch/0.1 (spaCy entity linker project; python-urllib)"
NETWORK_ERRORS = (URLError, ConnectionError, TimeoutError, http.client.HTTPException)
CHECKSUM_ALGORITHMS = {"sha1sums": "sha1", "md5sums": "md5"}


class FetchError(InputError):
    """A download failed or cannot be checked; the message says what to do instead."""


class Unreachable(FetchError):
    """The dumps site cannot be reached at all (no network, DNS failure, timeout)."""

    def __init__(self, url: str, reason: Any, hint: str = ""):
        self.reason = reason
        super().__init__(url, f"cannot reach the server ({reason})", hint=hint)


@dataclass
class Download:
    """One dump file: where it comes from, where it goes, which published checksum files list it."""
    key: str
    url: str
    path: Path
    checksum_urls: List[str] = field(default_factory=list)


# --- URLs ------------------------------------------------------------------------------------------------

def wikidata_url(date: str = "latest", fmt: str = "gz") -> str:
    """URL of the Wikidata JSON entity dump (`latest` or a dated dump such as 20240101)."""
    if fmt not in WIKIDATA_FORMATS:
        raise ValueError(f"wikidata format must be one of {WIKIDATA_FORMATS}, not {fmt!r}")
    if date == "latest":
        return f"{DUMPS_SITE}/wikidatawiki/entities/latest-all.json.{fmt}"
    return f"{DUMPS_SITE}/wikidatawiki/entities/{date}/wikidata-{date}-all.json.{fmt}"


def wikipedia_url(lang: str, date: str = "latest", index: bool = False) -> str:
    """URL of a Wikipedia multistream articles dump, or of its index."""
    kind = "pages-articles-multistream-index.txt.bz2" if index else "pages-articles-multistream.xml.bz2"
    return f"{DUMPS_SITE}/{lang}wiki/{date}/{lang}wiki-{date}-{kind}"


def wikidata_checksum_urls(date: str) -> List[str]:
    """Published checksum files of a dated Wikidata dump; the `latest` links have none."""
    if date == "latest":
        return []
    base = f"{DUMPS_SITE}/wikidatawiki/entities/{date}/wikidata-{date}"
    return [f"{base}-sha1sums.txt", f"{base}-md5sums.txt"]


def wikipedia_checksum_urls(lang: str, date: str) -> List[str]:
    base = f"{DUMPS_SITE}/{lang}wiki/{date}/{lang}wiki-{date}"
    return [f"{base}-sha1sums.txt", f"{base}-md5sums.txt"]


def plan_downloads(out_dir: Path, lang: str, date: str, wikidata_format: str) -> List[Download]:
    """The three dump files, each saved under OUTPUT_DIR/dumps/ with the name it has on the server."""
    dumps = out_dir / "dumps"
    urls = [("wikidata", wikidata_url(date, wikidata_format), wikidata_checksum_urls(date)),
            ("wikipedia", wikipedia_url(lang, date), wikipedia_checksum_urls(lang, date)),
            ("wikipedia_index", wikipedia_url(lang, date, index=True), wikipedia_checksum_urls(lang, date))]
    return [Download(key, url, dumps / url.rsplit("/", 1)[1], sums) for key, url, sums in urls]


# --- downloading ----------------------------------------------------------------------------------------

def download(url: str, dest: Path, progress: bool = True) -> Path:
    """Download `url` to `dest`, streaming into `dest.part` and renaming when complete.

    A `dest` of the server's size is kept as it is. An existing `.part` is resumed with an HTTP Range
    request if the server still has the same file (same ETag/Last-Modified, recorded in `.part.json`);
    otherwise the download starts over. Raises Unreachable when the server cannot be reached.
    """
    total, validator = _remote_info(url)
    if dest.exists() and dest.stat().st_size == total:
        _say(f"{dest}: complete, kept")
        return dest
    part = dest.with_name(dest.name + ".part")
    meta = dest.with_name(dest.name + ".part.json")
    offset = part.stat().st_size if part.exists() else 0
    if offset and (not meta.exists() or read_json(meta) != {"url": url, "validator": validator}
                   or (total is not None and offset > total)):
        offset = 0  # the .part holds another file (e.g. an older `latest`) or is broken
    if offset and offset == total:
        return _complete(part, meta, dest)
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    if offset and validator:
        headers["If-Range"] = validator
    try:
        with urlopen(_request(url, headers=headers), timeout=TIMEOUT_SECONDS) as response:
            if response.status != 206:
                offset = 0  # the server sent the whole file
            dest.parent.mkdir(parents=True, exist_ok=True)
            write_json(meta, {"url": url, "validator": validator})
            with open(part, "ab" if offset else "wb") as out, \
                    tqdm(desc=dest.name, total=total, initial=offset, unit="B", unit_scale=True,
                         mininterval=1.0, disable=not progress) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    out.write(chunk)
                    bar.update(len(chunk))
    except HTTPError as err:
        raise _http_error(url, err) from err
    except NETWORK_ERRORS as err:
        size = part.stat().st_size if part.exists() else 0
        raise FetchError(url, f"download interrupted after {size:,} bytes ({err})",
                         hint=f"run the same command again to resume {part}") from err
    size = part.stat().st_size
    if total is not None and size != total:
        raise FetchError(url, f"download stopped at {size:,} of {total:,} bytes",
                         hint=f"run the same command again to resume {part}")
    return _complete(part, meta, dest)


def _complete(part: Path, meta: Path, dest: Path) -> Path:
    os.replace(part, dest)
    meta.unlink(missing_ok=True)
    return dest


def _request(url: str, method: Optional[str] = None, headers: Optional[Dict[str, str]] = None) -> Request:
    return Request(url, method=method, headers={"User-Agent": USER_AGENT, **(headers or {})})


def _remote_info(url: str) -> Tuple[Optional[int], Optional[str]]:
    """(size in bytes or None, ETag or Last-Modified or None) of a URL, from a HEAD request."""
    try:
        with urlopen(_request(url, method="HEAD"), timeout=TIMEOUT_SECONDS) as response:
            length = response.headers.get("Content-Length")
            validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
            return (int(length) if length else None), validator
    except HTTPError as err:
        raise _http_error(url, err) from err
    except NETWORK_ERRORS as err:
        raise Unreachable(url, getattr(err, "reason", err)) from err


def _http_error(url: str, err: HTTPError) -> FetchError:
    if err.code == 404:
        return FetchError(url, "not found (HTTP 404)",
                          hint="check --dump-date: dated dumps are removed after a few months, 'latest' exists")
    return FetchError(url, f"HTTP {err.code} {err.reason}", hint="try again later")


def offline_instructions(plan: Sequence[Download]) -> str:
    """What to do without network: which files to put where by hand, and how to check them."""
    missing = [item for item in plan if not item.path.exists()]
    places = "; ".join(f"{item.url} -> {item.path.resolve()}" for item in missing)
    sums = sorted({url for item in missing for url in item.checksum_urls[:1]})
    check = f"check them with sha1sum against {', '.join(sums)}; " if sums else ""
    return (f"download these files elsewhere and put them at: {places}; {check}then run this command again "
            f"(files in place are used as they are). --source excerpts and --source world run offline")


# --- checksums ------------------------------------------------------------------------------------------

def verify(item: Download, progress: bool = True) -> bool:
    """Check a downloaded file against its published checksum; False if none is published.
    On a mismatch the file is deleted and FetchError raised."""
    for sums_url in item.checksum_urls:
        expected = _published_checksum(sums_url, item.path.name)
        if expected is None:
            continue
        algorithm = next(a for key, a in CHECKSUM_ALGORITHMS.items() if key in sums_url)
        actual = file_digest(item.path, algorithm, progress)
        if actual != expected:
            item.path.unlink()
            raise FetchError(item.path, f"{algorithm} is {actual}, {sums_url} says {expected}; deleted it",
                             hint="run the same command again to download it again")
        _say(f"{item.path}: {algorithm} matches {sums_url}")
        return True
    _say(f"{item.path}: no published checksum found, not verified")
    return False


def _published_checksum(sums_url: str, name: str) -> Optional[str]:
    """The checksum a `*sums.txt` file gives for `name` (matched without its `<wiki>-<date>-` prefix,
    so `latest` names find their dated entries), or None if the file or entry is not there."""
    try:
        with urlopen(_request(sums_url), timeout=TIMEOUT_SECONDS) as response:
            text = response.read().decode("utf8", "replace")
    except HTTPError:
        return None
    except NETWORK_ERRORS as err:
        raise Unreachable(sums_url, getattr(err, "reason", err)) from err
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and _without_prefix(parts[1]) == _without_prefix(name):
            return parts[0].lower()
    return None


def _without_prefix(name: str) -> str:
    """`enwiki-20240101-pages-articles.xml.bz2` -> `pages-articles.xml.bz2`."""
    return name.split("-", 2)[-1]


def file_digest(path: Path, algorithm: str = "sha1", progress: bool = False) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f, tqdm(desc=f"{algorithm} {path.name}", total=path.stat().st_size, unit="B",
                                     unit_scale=True, mininterval=1.0, disable=not progress) as bar:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


# --- the manifest ---------------------------------------------------------------------------------------

def display_path(path: PathLike) -> str:
    """The path relative to the working directory (the project) when inside it, else absolute."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def file_entry(path: PathLike) -> Dict[str, Any]:
    """{"path", "bytes"} of a file, plus "sha1" when it is small enough to hash quickly."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "does not exist or is not a file")
    entry: Dict[str, Any] = {"path": display_path(path), "bytes": path.stat().st_size}
    if entry["bytes"] <= SHA1_MAX_BYTES:
        entry["sha1"] = file_digest(path)
    return entry


def write_manifest(out_dir: PathLike, source: str, lang: str, dump_date: Optional[str], wikidata: Sequence[PathLike],
                   wikipedia: PathLike, wikipedia_index: Optional[PathLike]) -> Dict[str, Any]:
    manifest = {
        "source": source,
        "lang": lang,
        "dump_date": dump_date,
        "wikidata": [file_entry(p) for p in wikidata],
        "wikipedia": file_entry(wikipedia),
        "wikipedia_index": file_entry(wikipedia_index) if wikipedia_index else None,
    }
    write_json(Path(out_dir) / MANIFEST_FILE, manifest)
    return manifest


def read_manifest(path: PathLike) -> Dict[str, Any]:
    """Read a manifest written by this module (InputError if it is missing or not one)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "does not exist", hint="run the fetch step first (scripts/fetch_dumps.py)")
    try:
        manifest = read_json(path)
    except ValueError as err:
        raise InputError(path, f"is not JSON ({err})", hint="run the fetch step again") from err
    if isinstance(manifest, dict) and manifest.get("source") == "custom" and manifest.get("entities"):
        return manifest
    if not isinstance(manifest, dict) or not manifest.get("wikidata") or "wikipedia" not in manifest:
        raise InputError(path, "is not a fetch manifest (no wikidata/wikipedia entries)",
                         hint="run the fetch step again")
    return manifest


def manifest_paths(manifest: Dict[str, Any], key: str) -> List[Path]:
    """The file paths a manifest gives for `key` (a list for wikidata, one path otherwise)."""
    entries = manifest.get(key) or []
    return [Path(e["path"]) for e in (entries if isinstance(entries, list) else [entries])]


# --- the step -------------------------------------------------------------------------------------------

def fetch_dumps(out_dir: Path, lang: str = "en", date: str = "latest", wikidata_format: str = "gz",
                verify_checksums: bool = False, progress: bool = True) -> Dict[str, Any]:
    """Download (or keep) the real dumps under OUTPUT_DIR/dumps and write the manifest."""
    plan = plan_downloads(out_dir, lang, date, wikidata_format)
    try:
        for item in plan:
            download(item.url, item.path, progress)
        for item in plan if verify_checksums else ():
            verify(item, progress)
    except Unreachable as err:
        if not all(item.path.exists() for item in plan):
            raise Unreachable(err.path, err.reason, hint=offline_instructions(plan)) from err
        _say(f"{err}; using the files already in {out_dir / 'dumps'} as they are")
    files = {item.key: item.path for item in plan}
    return write_manifest(out_dir, "dumps", lang, date, [files["wikidata"]], files["wikipedia"],
                          files["wikipedia_index"])


def use_excerpts(out_dir: Path, lang: str = "en", excerpts_dir: Path = EXCERPTS_DIR) -> Dict[str, Any]:
    """Write a manifest pointing at the real excerpts (English only)."""
    if lang != "en":
        raise FetchError(excerpts_dir, f"the excerpts are English only, not {lang!r}", hint="use --lang en")
    if not excerpts_dir.is_dir():
        raise FetchError(excerpts_dir, "the excerpts directory is missing",
                         hint="it is expected at ../shared/data next to the project; "
                              "--source world generates test data instead")
    wikidata = [excerpts_dir / "wikidata" / name for name in EXCERPT_WIKIDATA]
    return write_manifest(out_dir, "excerpts", lang, None, wikidata, excerpts_dir / "wikipedia" / EXCERPT_WIKIPEDIA,
                          None)


def use_world(out_dir: Path, lang: str, n_entities: int, n_articles: int, seed: int,
              zipf: Optional[float] = None) -> Dict[str, Any]:
    """Generate a synthetic world into OUTPUT_DIR/world with `wikiel.world` and write the manifest."""
    from .world import generate_world as generate

    knobs = {} if zipf is None else {"zipf": zipf}
    files = generate(out_dir / "world", n_entities=n_entities, n_articles=n_articles, seed=seed, lang=lang, **knobs)
    return write_manifest(out_dir, "world", lang, None, [files["wikidata"]], files["wikipedia"],
                          files.get("wikipedia_index"))


def use_custom(out_dir: Path, lang: str, entities: PathLike, mentions: PathLike,
               priors: Optional[PathLike] = None) -> Dict[str, Any]:
    """Write a manifest pointing at a custom knowledge graph (`wikiel.custom` formats) after a quick check of the
    first records of each file (the check step reads them all)."""
    from .custom import SOURCE, mention_files, quick_check

    files = mention_files(mentions)
    quick_check(entities, files, priors)
    manifest = {
        "source": SOURCE,
        "lang": lang,
        "dump_date": None,
        "entities": file_entry(entities),
        "mentions": [file_entry(p) for p in files],
        "priors": file_entry(priors) if priors is not None else None,
    }
    write_json(Path(out_dir) / MANIFEST_FILE, manifest)
    return manifest


def _say(message: str) -> None:
    print(message, file=sys.stderr)
