"""Dumps already on disk: the manifest of files the user names (`vars.wikidata_dump`, `vars.wikipedia_dump`,
`vars.wikipedia_index`), used where they are and as they are.

Nothing is copied, downloaded, renamed, modified or deleted: the manifest records each file's path, size, time of
last modification (and SHA-1 when it is small), and what its content says: the wiki of a Wikipedia dump (its
siteinfo) and each file's dump date. The date comes from the Wikimedia file-name pattern (`enwiki-20240101-...`)
when the name has one, else from the newest `<timestamp>` (Wikipedia) or entity `"modified"` (Wikidata) in the
first DATE_HEAD_BYTES of the decompressed file (the dump is at least that recent), else it is "unknown". Any file
name, directory and compression (plain, .gz, .bz2, multistream or not) is accepted: the format is read from the
content.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from wikiel.sources import check
from wikiel.sources.fetch import MANIFEST_FILE, file_entry, modified
from wikiel.sources.wikidata import site_id
from wikiel.sources.wikipedia import WIKI_HOST, dump_language, same_language
from wikiel.util import InputError, PathLike, write_json

SOURCE = "local"
VARS = {"wikidata": "wikidata_dump", "wikipedia": "wikipedia_dump", "wikipedia_index": "wikipedia_index"}
DATE_HEAD_BYTES = 1 << 20  # decompressed bytes searched for the newest timestamp
UNKNOWN = "unknown"
TIMESTAMP = re.compile(rb"<timestamp>\s*(\d{4})-(\d\d)-(\d\d)T")
MODIFIED = re.compile(rb'"modified"\s*:\s*"(\d{4})-(\d\d)-(\d\d)T')


def split_paths(value: str) -> List[str]:
    """The paths of a comma-separated var value, in order, without surrounding blanks."""
    return [part.strip() for part in value.split(",")] if value.strip() else []


def local_file(value: str, var: str) -> Path:
    """The file a var names (`~` expanded, relative to the working directory, which is the project directory when
    weasel runs the step), checked to be a readable file; InputError naming the var otherwise."""
    if not value:
        raise InputError(
            f"vars.{var}", "has an empty entry", hint="give the dump's path; separate several files with commas"
        )
    given = Path(os.path.expanduser(value))
    path = given if given.is_absolute() else Path.cwd() / given
    if not path.exists():
        relative = "" if given.is_absolute() else f"; a relative path is relative to the project directory {Path.cwd()}"
        raise InputError(path, f"vars.{var} names a file that does not exist", hint=f"check the path{relative}")
    if not path.is_file():
        raise InputError(path, f"vars.{var} names a directory, not a dump file", hint="give the file's path")
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as err:
        raise InputError(
            path, f"vars.{var} names a file that cannot be read ({err.strerror})", hint="check its permissions"
        ) from err
    return path


def as_users_file(err: InputError, var: str) -> InputError:
    """The same problem of a user's file, naming the var that points at it and never advising to delete it."""
    return InputError(
        err.path,
        f"vars.{var}: {check.bare_message(err)}",
        line=err.line,
        offset=err.offset,
        hint=f"point vars.{var} at a complete dump file",
    )


def head_of(path: Path, var: str, limit: int = DATE_HEAD_BYTES) -> Tuple[str, bytes]:
    """(compression, the first `limit` decompressed bytes) of a user's file; the error names the var."""
    try:
        return check.decompressed_head(path, limit)
    except InputError as err:
        raise as_users_file(err, var) from err


def content_date(path: Path, head: bytes) -> Tuple[str, str]:
    """(dump date YYYYMMDD or "unknown", where it comes from)."""
    named = check.NAME_DATE.match(path.name)
    if named:
        return named.group(1), "file name"
    dates = [b"".join(m.groups()) for pattern in (TIMESTAMP, MODIFIED) for m in pattern.finditer(head)]
    if dates:
        return max(
            dates
        ).decode(), f"newest timestamp in its first {len(head):,} bytes (the dump is as recent or newer)"
    return UNKNOWN, f"no date in its name nor a timestamp in its first {len(head):,} bytes"


def dump_wiki(head: bytes) -> Tuple[Optional[str], bool]:
    """The wiki (database name, e.g. enwiki) a MediaWiki XML export says it is, in any encoding the parser reads:
    its <dbname>, else the `<lang>wiki` of the language its <base> or root xml:lang names (None if its head says
    neither); and whether that is exact (a <dbname> or a Wikimedia <base>, not a language tag such as
    xml:lang="zh-Hans"). The one place the workflow reads a local dump's wiki from its content."""
    xml = check.xml_head(head)
    if xml is None:
        return None, False
    siteinfo = xml.siteinfo()
    if siteinfo.dbname:
        return siteinfo.dbname, True
    found = dump_language(siteinfo)
    return (site_id(found) if found else None), bool(WIKI_HOST.match(siteinfo.base))


def check_wiki(path: Path, head: bytes, lang: str) -> str:
    """The dump's wiki, which must be the one of `lang` (InputError naming vars.lang otherwise); "" if the head does
    not name it (the check step then reads what else the siteinfo says)."""
    wiki, exact = dump_wiki(head)
    found = wiki.removesuffix("wiki").replace("_", "-") if wiki and wiki.endswith("wiki") else ""
    if wiki and (wiki != site_id(lang) if exact else not same_language(found, lang, exact=False)):
        what = f"run with --vars.lang {found}" if found else "point vars.wikipedia_dump at a Wikipedia dump"
        raise InputError(
            path,
            f"is the {wiki} dump, but vars.lang is {lang!r} ({site_id(lang)})",
            hint=f"{what}, or point vars.wikipedia_dump at the {site_id(lang)} dump",
        )
    return wiki if wiki and exact else site_id(lang) if wiki else ""  # xml:lang="zh-Hans" on zh: zhwiki


def local_entry(path: Path, key: str, lang: str) -> Dict[str, Any]:
    """The manifest entry of one of the user's files: file_entry's path, size (and SHA-1 when small), plus the time
    of last modification, the var that names it and what its content says (wiki, date)."""
    var = VARS[key]
    entry = file_entry(path)
    entry["modified"] = modified(path)
    entry["var"] = var
    if key == "wikipedia_index":
        return entry
    _, head = head_of(path, var)
    start = head.lstrip()[:1]
    if key == "wikipedia" and start in (b"[", b"{"):
        raise InputError(
            path,
            f"vars.{var} names JSON (a Wikidata dump?), not a MediaWiki XML export",
            hint="vars.wikipedia_dump is the pages-articles XML dump, vars.wikidata_dump the entity JSON: swapped?",
        )
    if key == "wikidata" and start == b"<":
        raise InputError(
            path,
            f"vars.{var} names XML (a Wikipedia dump?), not Wikidata entity JSON",
            hint="vars.wikidata_dump is the entity JSON dump, vars.wikipedia_dump the pages-articles XML: swapped?",
        )
    if key == "wikipedia":
        entry["wiki"] = check_wiki(path, head, lang) or None
    entry["dump_date"], entry["dump_date_from"] = content_date(path, head)
    return entry


def resolve_vars(wikidata_dump: str, wikipedia_dump: str, wikipedia_index: str) -> Dict[str, Any]:
    """The user's files by manifest key (`wikidata`: a list), checked to exist; InputError naming the var when one
    is missing, unreadable or a directory, or when the dump vars are not set together."""
    wikidata = split_paths(wikidata_dump)
    if not wikidata or not wikipedia_dump.strip():
        missing = "vars.wikidata_dump" if not wikidata else "vars.wikipedia_dump"
        raise InputError(
            missing,
            "is empty, but the other dump var is set: the workflow needs both dumps",
            hint="set --vars.wikidata_dump and --vars.wikipedia_dump together (vars.wikipedia_index is optional)",
        )
    return {
        "wikidata": [local_file(value, VARS["wikidata"]) for value in wikidata],
        "wikipedia": local_file(wikipedia_dump.strip(), VARS["wikipedia"]),
        "wikipedia_index": local_file(wikipedia_index.strip(), VARS["wikipedia_index"])
        if wikipedia_index.strip()
        else None,
    }


def use_local(out_dir: PathLike, lang: str, files: Dict[str, Any]) -> Dict[str, Any]:
    """Write the manifest of dumps already on disk (`files`: what `resolve_vars` returns). The manifest's dump_date
    is the Wikipedia dump's; each entry has its own."""
    wikipedia = local_entry(files["wikipedia"], "wikipedia", lang)
    wikidata = [local_entry(path, "wikidata", lang) for path in files["wikidata"]]
    index = local_entry(files["wikipedia_index"], "wikipedia_index", lang) if files["wikipedia_index"] else None
    manifest = {
        "source": SOURCE,
        "lang": lang,
        "dump_date": wikipedia["dump_date"],
        "wikidata": wikidata,
        "wikipedia": wikipedia,
        "wikipedia_index": index,
    }
    write_json(Path(out_dir) / MANIFEST_FILE, manifest, step="fetch")
    return manifest


def settings_of(lang: str, files: Dict[str, Any]) -> Dict[str, Any]:
    """The fetch settings of a local manifest (for `fetch.unchanged`): the language and the files' absolute paths."""
    index = files["wikipedia_index"]
    return {
        "source": SOURCE,
        "lang": lang,
        "wikidata": [str(p.resolve()) for p in files["wikidata"]],
        "wikipedia": str(files["wikipedia"].resolve()),
        "wikipedia_index": str(index.resolve()) if index else "",
    }


def summary(manifest: Dict[str, Any]) -> str:
    """One line about a local manifest for the fetch command."""
    wikipedia = manifest["wikipedia"]
    n_bytes = sum(e["bytes"] for e in manifest["wikidata"]) + wikipedia["bytes"]
    dates = sorted({e["dump_date"] for e in [*manifest["wikidata"], wikipedia]})
    return (
        f"local: {len(manifest['wikidata'])} Wikidata file(s), {wikipedia.get('wiki') or 'unnamed wiki'} dump"
        f"{' with its index' if manifest['wikipedia_index'] else ' (no index)'}, {n_bytes:,} bytes, dump date(s) "
        f"{', '.join(dates)}; used where they are, nothing copied"
    )
