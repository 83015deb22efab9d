"""Check the input assets of a fetch manifest before the long run starts.

For each file of `assets/manifest.json`: present, a readable file, of the manifest's size (and sha1 when it has one),
and of the right format by content: the first ~64 KB are decompressed (gzip or bz2, by magic bytes) and must be
Wikidata entity JSON, a MediaWiki XML export of the manifest's wiki, or `offset:page_id:title` index lines whose first
offset is a bz2 stream of the dump. The last stream of a multistream bz2 file (all Wikipedia dumps) is decompressed
too, so that a file cut short is found although its size matches: a Wikipedia dump must end with </mediawiki>.
A Wikidata dump array (`[` on its first line) must end with its `]` line, checked from the end of the file only, so
that it stays fast on 100 GB: the tail of a plain file, the last bz2 stream or gzip member if one starts in the last
TAIL_BYTES (a smaller gzip file is decompressed whole); a bigger single-stream bz2 must at least end with its
end-of-stream marker, and a big single-member gzip file cannot be checked from its end (the summary says so:
parse-wikidata checks it as it reads). Newline-delimited input has no end marker to check. Problems are InputErrors
naming the file, what is wrong and what to do. A custom knowledge graph's manifest (`source: custom`) has its entity,
mention and prior files read in full and validated by `wikiel.custom` (file:line of the first problem).
"""

from __future__ import annotations

import bz2
import codecs
import re
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple, cast

from wikiel import defaults
from wikiel.sources.custom import EntityFile, resolve_entry, summarize_entity_file, summarize_mentions, summarize_priors
from wikiel.sources.fetch import plan_downloads, read_manifest
from wikiel.sources.wikidata import site_id
from wikiel.sources.wikipedia import SiteInfo, _check_language, dump_language
from wikiel.util import BZIP2_MAGIC, InputError, PathLike, compression_of, file_digest

HEAD_BYTES = 64 << 10  # decompressed bytes looked at
READ_BYTES = 16 << 10  # compressed bytes read at a time
TAIL_BYTES = 4 << 20  # compressed bytes at the end searched for the start of the last bz2 stream
REFETCH = "delete it and run `spacy project run fetch` again"
LOCAL_SOURCE = "local"  # the manifest of dumps already on disk (wikiel.sources.local)
CUSTOM_REFETCH = "if the file changed on purpose, run `spacy project run fetch . --force` with the same vars"
NAME_DATE = re.compile(r"[a-z_]+-(\d{8})-")  # enwiki-20240101-..., wikidata-20240101-all.json.gz
ENTITY_ID = re.compile(rb'"id"\s*:\s*"[QPL]\d+"')
ENTITY_FIELD = re.compile(rb'"(?:labels|claims|sitelinks)"\s*:')
XML_BOMS = (  # (byte order mark or the first bytes of `<?`, Python codec): what expat recognizes
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
XML_DECLARED_ENCODING = re.compile(rb"<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
INDEX_LINE = re.compile(rb"(\d+):(\d+):(.+)")
BZ2_STREAM_START = re.compile(rb"BZh[1-9]1AY&SY")  # stream header and the magic of its first block
BZ2_END_OF_STREAM = 0x177245385090  # the 48-bit magic of a bz2 end-of-stream marker (sqrt(pi) in BCD)
GZ_MEMBER_START = re.compile(rb"\x1f\x8b\x08[\x00-\x1f]", re.DOTALL)  # magic, deflate, flags without reserved bits


class Result(NamedTuple):
    """One checked asset: what it is (`wikidata`, `wikipedia`, `wikipedia_index` or `manifest`), its path, and
    either a summary of what was found or the problem."""

    key: str
    path: str
    summary: str = ""
    problem: Optional[InputError] = None


def missing_manifest(manifest: PathLike, lang: str, dump_date: str, wikidata_format: str) -> InputError:
    """The error for a manifest that does not exist: run fetch, or where to put the real dumps by hand."""
    plan = plan_downloads(Path(manifest).parent, lang, dump_date, wikidata_format)
    places = ", ".join(str(item.path) for item in plan)
    return InputError(
        manifest,
        "does not exist",
        hint=f"run `spacy project run fetch` first; for dumps already on disk, pass them where they are: "
        f"`spacy project run fetch . --vars.wikidata_dump FILE --vars.wikipedia_dump FILE`; or put the real dumps "
        f"at {places}, then run `spacy project run fetch . --vars.source dumps`",
    )


def check_assets(manifest_path: PathLike, lang: Optional[str] = None, dump_date: Optional[str] = None) -> List[Result]:
    """Check every asset of a manifest (InputError if the manifest itself cannot be read). `lang` and `dump_date`
    are the workflow's vars: when given, the manifest must be of that wiki (and, for real dumps, that date)."""
    manifest_path = Path(manifest_path)
    if manifest_path.is_dir():
        raise InputError(manifest_path, "is a directory, expected the manifest.json the fetch step writes")
    manifest = read_manifest(manifest_path)
    results = []
    mismatch = _vars_mismatch(manifest, lang, dump_date)
    if mismatch:
        results.append(
            Result(
                "manifest",
                str(manifest_path),
                problem=InputError(
                    manifest_path, mismatch, hint="run `spacy project run fetch` again with the same vars"
                ),
            )
        )
    if manifest.get("source") == "custom":
        return results + check_custom(manifest_path, manifest)
    dump = None
    for key in ("wikidata", "wikipedia", "wikipedia_index"):
        entries = manifest.get(key) or []
        for entry in entries if isinstance(entries, list) else [entries]:
            path = _resolve(manifest_path, entry)
            try:
                summary = _check(key, path, entry, manifest, dump)
            except InputError as err:
                if manifest.get("source") == LOCAL_SOURCE:  # the user's own file: never advise deleting it
                    err = _users_file_problem(err, entry.get("var") or key)
                results.append(Result(key, str(path), problem=err))
            else:
                results.append(Result(key, str(path), summary))
            if key == "wikipedia":
                dump = path
    return results


def check_custom(manifest_path: Path, manifest: Dict[str, Any]) -> List[Result]:
    """Results for the entity, mention and prior files of a custom knowledge graph: present, unchanged since fetch,
    every record valid; how span ids resolve (ontologies: prefixed, alternative, replaced ids), ids missing from the
    entity file, held-out test documents and PubTator warts are reported in the summary."""
    results = []
    entity_file: Optional[EntityFile] = None
    mentions = [resolve_entry(manifest_path, e) for e in manifest.get("mentions") or []]
    planned: List[Tuple[str, List[Dict[str, Any]]]] = [
        ("entities", [cast(Dict[str, Any], manifest.get("entities"))]),
        ("mentions", manifest.get("mentions") or []),
        ("priors", [manifest["priors"]] if manifest.get("priors") else []),
    ]
    for key, entries in planned:
        if key == "priors" and not entries:
            continue  # optional
        paths = [resolve_entry(manifest_path, e) for e in entries]
        try:
            if key == "mentions" and not paths:
                raise InputError(manifest_path, "names no mention files", hint=CUSTOM_REFETCH)
            for path, entry in zip(paths, entries):
                try:
                    check_file(path, entry)
                except InputError as err:  # the user's own file: never advise deleting it
                    message = str(err).removeprefix(f"{err.path}: ").removesuffix(f" ({err.hint})")
                    raise InputError(path, message, hint=CUSTOM_REFETCH) from err
            if key == "entities":
                entity_file, summary = summarize_entity_file(paths[0])
            elif key == "mentions":
                summary = summarize_mentions(mentions, entity_file)
            else:
                summary = summarize_priors(paths[0], set(entity_file.entities) if entity_file is not None else None)
        except InputError as err:
            results.append(Result(key, ", ".join(map(str, paths)), problem=err))
        else:
            results.append(Result(key, ", ".join(map(str, paths)), summary))
    return results


def _users_file_problem(err: InputError, var: str) -> InputError:
    """The problem of a file of a local manifest (the user's dumps, used where they are), with what to do about it
    instead of advice to delete it and fetch again."""
    if err.hint != REFETCH:
        return err
    hint = f"point vars.{var} at a complete dump, then run `spacy project run fetch` again with the same vars"
    return InputError(err.path, bare_message(err), line=err.line, offset=err.offset, hint=hint)


def bare_message(err: InputError) -> str:
    """What an InputError says is wrong, without its file, line or offset and hint."""
    where = err.path + (f":{err.line}" if err.line is not None else "")
    where += f" (byte {err.offset})" if err.line is None and err.offset is not None else ""
    message = str(err).removeprefix(f"{where}: ")
    return message.removesuffix(f" ({err.hint})") if err.hint else message


def _vars_mismatch(manifest: Dict[str, Any], lang: Optional[str], dump_date: Optional[str]) -> str:
    """What contradicts the workflow's vars: the wiki always; the dump date only for downloaded dumps (the date of
    dumps already on disk is read from them, whatever vars.dump_date says)."""
    if lang is not None and manifest.get("lang") != lang:
        return f"was written for lang {manifest.get('lang')!r}, the workflow's vars.lang is {lang!r}"
    if dump_date is not None and manifest.get("source") == "dumps" and manifest.get("dump_date") != dump_date:
        return (
            f"was written for dump date {manifest.get('dump_date')!r}, the workflow's vars.dump_date is {dump_date!r}"
        )
    return ""


def _resolve(manifest_path: Path, entry: Dict[str, Any]) -> Path:
    """A manifest path as the steps find it: as given (relative to the working directory), else relative to the
    project directory the manifest is in."""
    path = Path(entry["path"])
    beside = manifest_path.resolve().parent.parent / path
    return beside if not path.is_absolute() and not path.exists() and beside.exists() else path


def _check(key: str, path: Path, entry: Dict[str, Any], manifest: Dict[str, Any], dump: Optional[Path]) -> str:
    check_file(path, entry)
    kind, head = decompressed_head(path)
    end = last_bz2_stream(path) if kind == "bz2" else None
    date = dump_date_of(path)
    expected_date = manifest.get("dump_date")
    if manifest.get("source") == LOCAL_SOURCE:  # each file's date as fetch read it (name, else content)
        date = entry.get("dump_date") or date
    elif date != "latest" and expected_date not in (None, "latest", date):
        raise InputError(path, f"is from {date}, the manifest says {expected_date}", hint=REFETCH)
    if key == "wikidata":
        found = check_wikidata(path, head) + ", " + wikidata_end(path, kind, head, end)
    elif key == "wikipedia":
        found = check_wikipedia(path, head, end, manifest.get("lang", defaults.LANG))
    else:
        found = check_index(path, head, dump)
    return f"{entry['bytes']:,} bytes, {kind}{', end intact' if end is not None else ''}, {found}, dump date {date}"


def check_file(path: Path, entry: Dict[str, Any]) -> None:
    """Present, a readable file, with the manifest's size and (if it has one) sha1."""
    if not path.exists():
        raise InputError(path, "does not exist", hint="run `spacy project run fetch` again, or put the file there")
    if not path.is_file():
        raise InputError(path, "is a directory, not a dump file", hint="point the manifest at the file")
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise InputError(path, f"cannot be read ({err.strerror})", hint="check its permissions") from err
    size = path.stat().st_size
    if size != entry["bytes"]:
        raise InputError(
            path,
            f"has {size:,} bytes, the manifest says {entry['bytes']:,}: an interrupted or replaced download",
            hint=REFETCH,
        )
    if entry.get("sha1") and file_digest(path, "sha1") != entry["sha1"]:
        raise InputError(
            path, "has another sha1 than the manifest says: the file changed since it was fetched", hint=REFETCH
        )


def decompressed_head(path: Path, limit: int = HEAD_BYTES) -> Tuple[str, bytes]:
    """(compression, its first `limit` decompressed bytes). Concatenated streams (multistream bz2, multi-member gzip)
    are followed; InputError if the data does not decompress or ends inside a stream."""
    kind = compression_of(path)
    if path.stat().st_size == 0:
        raise InputError(path, "is empty", hint=REFETCH)
    suffix = path.suffix.lstrip(".")
    if suffix in ("gz", "bz2") and suffix != kind:
        raise InputError(path, f"is named .{suffix} but its content is {kind}", hint=REFETCH)
    if kind == "plain":
        with open(path, "rb") as f:
            return kind, f.read(limit)
    new = bz2.BZ2Decompressor if kind == "bz2" else (lambda: zlib.decompressobj(31))
    decompressor = new()
    out = bytearray()
    offset = 0  # compressed bytes read
    with open(path, "rb") as f:
        while len(out) < limit:
            if decompressor.eof:  # a stream ended: another may follow
                data = decompressor.unused_data or f.read(READ_BYTES)
                if not data:
                    break
                offset += len(data) - len(decompressor.unused_data)
                decompressor = new()
            else:
                data = f.read(READ_BYTES)
                if not data:
                    raise InputError(path, f"ends inside a {kind} stream: it is truncated", offset=offset, hint=REFETCH)
                offset += len(data)
            try:
                out += decompressor.decompress(data)
            except (OSError, EOFError, zlib.error) as err:
                raise InputError(
                    path,
                    f"is not valid {kind} data in the {len(data):,} bytes from there ({err})",
                    offset=offset - len(data),
                    hint=REFETCH,
                ) from err
    return kind, bytes(out[:limit])


def last_bz2_stream(path: Path) -> Optional[bytes]:
    """The decompressed last stream of a bz2 file, or None if no stream starts in its last TAIL_BYTES (a big
    single-stream file); InputError if that stream is damaged or cut."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - TAIL_BYTES))
        tail = f.read()
    starts = [match.start() for match in BZ2_STREAM_START.finditer(tail)]
    if not starts:
        return None
    offset = size - len(tail) + starts[-1]
    decompressor = bz2.BZ2Decompressor()
    try:
        data = decompressor.decompress(tail[starts[-1] :])
    except OSError as err:
        raise InputError(path, f"its last bz2 stream is damaged ({err})", offset=offset, hint=REFETCH) from err
    if not decompressor.eof:
        raise InputError(path, "ends inside its last bz2 stream: it is truncated", offset=offset, hint=REFETCH)
    return data


def bz2_ends_with_end_of_stream(path: Path) -> bool:
    """True if the file's last bytes are a bz2 end-of-stream marker, its CRC and up to 7 zero bits of padding (the
    marker is not byte-aligned): a bz2 file cut inside a stream does not end so."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(max(0, size - 16))
        bits = int.from_bytes(f.read(), "big")
    for padding in range(8):
        if bits & ((1 << padding) - 1) == 0 and (bits >> (padding + 32)) & ((1 << 48) - 1) == BZ2_END_OF_STREAM:
            return True
    return False


def last_gz_member(path: Path) -> Optional[bytes]:
    """The decompressed last member of a gzip file: the whole file's data when it is at most TAIL_BYTES (every member
    decompressed, InputError if one is cut or damaged); for a bigger file the member that starts last in its final
    TAIL_BYTES and runs, intact, exactly to the end, or None if there is none (a single-member file, or a last member
    longer than that: only decompressing it all can tell whether it is complete)."""
    size = path.stat().st_size
    if size <= TAIL_BYTES:
        return _gunzip_all(path)
    with open(path, "rb") as f:
        f.seek(size - TAIL_BYTES)
        tail = f.read()
    for match in reversed(list(GZ_MEMBER_START.finditer(tail))):
        decompressor = zlib.decompressobj(31)
        try:
            data = decompressor.decompress(tail[match.start() :])
        except zlib.error:
            continue  # not a member start: the bytes merely look like one
        if decompressor.eof and not decompressor.unused_data.strip(b"\0"):
            return data
    return None


def _gunzip_all(path: Path) -> bytes:
    data = path.read_bytes()
    out = []
    offset = 0
    while offset < len(data) and data[offset:].strip(b"\0"):
        decompressor = zlib.decompressobj(31)
        try:
            out.append(decompressor.decompress(data[offset:]))
        except zlib.error as err:
            raise InputError(
                path, f"its gzip member at byte {offset:,} is damaged ({err})", offset=offset, hint=REFETCH
            ) from err
        if not decompressor.eof:
            raise InputError(
                path,
                f"ends inside the gzip member that starts at byte {offset:,}: it is truncated",
                offset=len(data),
                hint=REFETCH,
            )
        offset = len(data) - len(decompressor.unused_data)
    return b"".join(out)


def wikidata_end(path: Path, kind: str, head: bytes, last_stream: Optional[bytes]) -> str:
    """Whether a Wikidata dump is complete, from its end only: a dump array (`[` on the first line) must end with its
    `]` line. Plain files: their tail is read; bz2: the last stream (`last_stream`, if one starts near the end); gzip:
    the last member (if one starts near the end). InputError if the array is not closed; otherwise what was or
    could not be checked, for the summary."""
    first = head.lstrip().split(b"\n", 1)[0].strip()
    if first != b"[":
        return "newline-delimited (no end marker: its completeness cannot be checked)"
    if kind == "plain":
        size = path.stat().st_size
        with open(path, "rb") as f:
            f.seek(max(0, size - READ_BYTES))
            end: Optional[bytes] = f.read()
    elif kind == "bz2":
        end = last_stream
        if end is None and not bz2_ends_with_end_of_stream(path):
            raise InputError(
                path, "ends inside a bz2 stream: it is truncated", offset=path.stat().st_size, hint=REFETCH
            )
    else:
        end = last_gz_member(path)
    if end is None:
        what = "bz2 stream" if kind == "bz2" else "gzip member"
        return (
            f"array end not checked (no {what} starts in its last {TAIL_BYTES:,} bytes: only decompressing it all "
            f"can tell, which parse-wikidata does)"
        )
    if not end.strip():
        return "array end not checked (the last part is blank)"
    if end.rstrip().rsplit(b"\n", 1)[-1].strip() != b"]":
        raise InputError(
            path,
            "is truncated: its JSON array (`[` on its first line) does not end with a `]` line",
            offset=path.stat().st_size,
            hint=REFETCH,
        )
    return "array closed by its `]`"


def check_wikidata(path: Path, head: bytes) -> str:
    """Wikidata entity JSON: starts with `[` or `{` and holds an object with an entity id and entity fields."""
    start = head.lstrip()[:1]
    if not start:
        raise InputError(path, "is empty", hint=REFETCH)
    if start == b"<" or xml_head(head) is not None:
        raise InputError(
            path,
            "is XML (a Wikipedia dump?), not Wikidata entity JSON",
            hint="the manifest's 'wikidata' entry must be the ...-all.json.gz dump",
        )
    if start not in (b"[", b"{"):
        raise InputError(
            path, f"does not start like JSON ({printable_start(head)}), expected Wikidata entity JSON", hint=REFETCH
        )
    if not (ENTITY_ID.search(head) and ENTITY_FIELD.search(head)):
        raise InputError(
            path,
            f'holds no Wikidata entity (an object with an id like "Q42" and labels, claims or '
            f"sitelinks) in its first {len(head):,} bytes",
            hint=REFETCH,
        )
    return "Wikidata entity JSON"


def check_wikipedia(path: Path, head: bytes, end: Optional[bytes], lang: str) -> str:
    """A MediaWiki XML export (in any encoding the parser reads) with a <siteinfo> whose <dbname> is the manifest's
    wiki (without a <dbname>: whose <base> or root xml:lang names it), ending (if `end`, its decompressed last bz2
    stream, is known) with </mediawiki>."""
    xml = xml_head(head)
    if xml is None or xml.root != "mediawiki":
        if xml is not None:
            what = f"XML whose root element is <{xml.root}>"
        elif head.lstrip()[:1] in (b"[", b"{"):
            what = "JSON (the Wikidata dump?)"
        else:
            what = f"not XML (it starts with {printable_start(head)})"
        raise InputError(
            path,
            f"is {what}, not a MediaWiki XML export (<mediawiki ...>)",
            hint="the manifest's 'wikipedia' entry must be the pages-articles XML dump",
        )
    if not xml.siteinfo_started:
        raise InputError(path, f"has no <siteinfo> in its first {len(head):,} bytes", hint=REFETCH)
    siteinfo = xml.siteinfo()
    dbname = siteinfo.dbname
    if dbname and dbname != site_id(lang):
        raise InputError(
            path,
            f"is the {dbname} dump, the manifest's lang {lang!r} needs {site_id(lang)}",
            hint="fetch the dump of that wiki, or set vars.lang to its language",
        )
    _check_language(path, siteinfo, lang, option="the manifest's lang")
    if end is not None and not _decoded_tail(end, xml.encoding).endswith("</mediawiki>"):
        raise InputError(path, "does not end with </mediawiki>: it is cut short", hint=REFETCH)
    found = dump_language(siteinfo)
    wiki = dbname or (f"{found} wiki" if found else "unnamed wiki")
    details = [xml.fields.get("generator", ""), "" if xml.encoding == "utf-8" else xml.encoding.upper()]
    return f"{wiki} XML export" + (f" ({', '.join(d for d in details if d)})" if any(details) else "")


class XmlHead(NamedTuple):
    """What the start of an XML file says: its root element (local name) and xml:lang, the text of the
    <siteinfo> fields read (dbname, base, generator ...), whether <siteinfo> starts there, and its encoding."""

    root: str
    lang: str
    fields: Dict[str, str]
    siteinfo_started: bool
    encoding: str

    def siteinfo(self) -> SiteInfo:
        """What identifies the wiki: <dbname>, <base> and the root's xml:lang (see wikipedia.dump_language)."""
        return SiteInfo(dbname=self.fields.get("dbname", ""), base=self.fields.get("base", ""), xml_lang=self.lang)


def xml_head(head: bytes) -> Optional[XmlHead]:
    """The start of an XML document read by the parser parse-wikipedia uses (xml.etree), so that any encoding it
    reads is read here (a byte order mark, an `<?xml encoding="...">` declaration); None if no root element
    starts in `head`. `head` may end anywhere (in a character too): what follows the last event is ignored."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    root: Optional[ET.Element] = None
    fields: Dict[str, str] = {}
    siteinfo = False
    try:
        parser.feed(head)
        for event, elem in cast(Iterator[Tuple[str, ET.Element]], parser.read_events()):
            name = elem.tag.rsplit("}", 1)[-1]
            if root is None:
                root = elem
            elif event == "start" and name == "siteinfo":
                siteinfo = True
            elif event == "end" and name == "siteinfo":
                break
            elif event == "end" and siteinfo and name not in fields:
                fields[name] = (elem.text or "").strip()
    except ET.ParseError:
        pass
    if root is None:
        return None
    return XmlHead(root.tag.rsplit("}", 1)[-1], root.get(XML_LANG, ""), fields, siteinfo, xml_encoding(head))


def xml_encoding(head: bytes) -> str:
    """The encoding of an XML document's bytes, as the parser finds it: by byte order mark (or the UTF-16 of `<?`),
    else its declaration's `encoding`, else UTF-8 (a Python codec name)."""
    for mark, encoding in XML_BOMS:
        if head.startswith(mark):
            return encoding
    declared = XML_DECLARED_ENCODING.match(head)
    if declared:
        try:
            return codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            pass
    return "utf-8"


def _decoded_tail(end: bytes, encoding: str, size: int = 256) -> str:
    """The last characters of a document's bytes, whitespace stripped."""
    tail = end[-size:]
    if encoding.startswith("utf-16") and len(tail) % 2:
        tail = tail[1:]
    return tail.decode(encoding.replace("-sig", ""), "replace").rstrip()


def printable_start(data: bytes, size: int = 24) -> str:
    """The first characters of `data` as UTF-8 text in quotes, control characters and undecodable bytes shown as
    '?' (for an error message: text, not a bytes repr)."""
    text = data.lstrip()[:size].decode("utf8", "replace")
    return '"' + "".join("?" if ch == "\ufffd" or (ord(ch) < 32 and ch != " ") else ch for ch in text) + '"'


def check_index(path: Path, head: bytes, dump: Optional[Path]) -> str:
    """`offset:page_id:title` lines whose first offset is the start of a bz2 stream of the dump."""
    lines = head.split(b"\n")
    if len(head) == HEAD_BYTES:
        lines.pop()  # may be cut
    lines = [line for line in lines if line]
    if not lines:
        raise InputError(path, "is empty", hint=REFETCH)
    for number, line in enumerate(lines, 1):
        if not INDEX_LINE.fullmatch(line):
            raise InputError(
                path,
                f"is not a multistream index: {line[:60]!r} is not an offset:page_id:title line",
                line=number,
                hint=REFETCH,
            )
    first_line = INDEX_LINE.fullmatch(lines[0])
    assert first_line is not None  # every line matched above
    first = int(first_line.group(1))
    if dump is not None and dump.is_file() and not _stream_starts_at(dump, first):
        raise InputError(
            path,
            f"does not belong to {dump}: its first offset {first:,} is not a bz2 stream of it",
            line=1,
            hint="fetch the index of the same dump",
        )
    return "multistream index"


def _stream_starts_at(dump: Path, offset: int) -> bool:
    with open(dump, "rb") as f:
        f.seek(offset)
        return 0 < offset and f.read(3) == BZIP2_MAGIC


def dump_date_of(path: PathLike) -> str:
    """The dump date in a dump's file name (`enwiki-20240101-...`, `wikidata-20240101-all.json.gz`), else 'latest'."""
    match = NAME_DATE.match(Path(path).name)
    return match.group(1) if match else "latest"
