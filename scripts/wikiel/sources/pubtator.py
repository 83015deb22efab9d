"""PubTator, the plain-text format of biomedical corpora (NCBI-disease, BC5CDR, ...): documents with their annotated
mentions, read as they are published (plain or gzip), their real-data warts handled and counted.

    PMID|t|title
    PMID|a|abstract
    PMID<TAB>start<TAB>end<TAB>surface text<TAB>class<TAB>ids[<TAB>more columns, ignored]
    PMID<TAB>relation<TAB>id<TAB>id          (relation lines, as in BC5CDR: counted and skipped)
    (a blank line between documents)

- The text is `title + " " + abstract` (the title alone when there is no `|a|` line); offsets are 0-based character
  offsets into it, end exclusive.
- `ids`: one id, or several joined by `|` or `+` (composite mentions such as "breast and ovarian cancer"); `-1` or an
  empty column means no id (the mention is kept, without a link). Spaces around an id are dropped.
- A mention whose surface text is not the text at its offsets is re-aligned: if the text at the offsets has the same
  letters and digits (only spaces, punctuation or case differ) the offsets are kept (`surface_mismatch`); else the
  surface text nearest to the offsets, at most `ALIGN_WINDOW` characters away, is taken (`realigned`); else the
  mention is dropped (`offset_mismatch`). NCBI-disease train has one such mention: quotes in the text are spaces in
  its surface column (`surface_mismatch`, offsets right).
- A document id seen before in the same file: an identical copy (same text and mentions) is skipped and counted
  (`duplicate_documents`; NCBI-disease train repeats PMID 8528200); a copy that differs is an InputError naming both
  lines, since nothing says which one is right.
- Anything else that is not one of the lines above (a mention without its document, a non-integer or negative
  offset, a missing column, a second title) is an InputError naming the file and line.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from wikiel.util import InputError, PathLike, open_dump, text_lines

TITLE = re.compile(r"^([^\s|]+)\|t\|(.*)$", re.S)
ABSTRACT = re.compile(r"^([^\s|]+)\|a\|(.*)$", re.S)
ID_SEPARATORS = re.compile(r"[|+]")
NO_ID = ("", "-1")
ALIGN_WINDOW = 100  # characters around the given offsets searched for a mention's surface text
SUFFIXES = (".txt", ".pubtator", ".pubtator.txt")  # file names (also + .gz) a directory's PubTator files may have
HEAD_BYTES = 4096
EXAMPLES = 5  # file:line examples kept per count
# A PubTator file's split from its name (lowercase), first match wins: NCBItrainset -> train, NCBIdevelopset -> dev.
SPLIT_WORDS = (("train", "train"), ("develop", "dev"), ("dev", "dev"), ("test", "test"))


@dataclass
class PubtatorMention:
    start: int
    end: int
    text: str  # the surface column as written
    cls: str  # the class column (SpecificDisease, Chemical, ...)
    ids: Tuple[str, ...]  # () = no id; more than one = a composite mention
    line: int


@dataclass
class PubtatorDoc:
    id: str
    text: str
    mentions: List[PubtatorMention]
    line: int  # of the title


@dataclass
class Tally:
    """Counts of a reader, with the first few `file:line` places of each."""

    counts: Counter = field(default_factory=Counter)
    examples: Dict[str, List[str]] = field(default_factory=dict)

    def add(self, key: str, where: str = "", n: int = 1) -> None:
        self.counts[key] += n
        if where:
            places = self.examples.setdefault(key, [])
            if len(places) < EXAMPLES:
                places.append(where)


def split_ids(raw: str) -> Tuple[str, ...]:
    """The ids of an id column: `D001943|D010051` and `D1+D2` are two; `-1` and blanks are none; order kept, repeats
    dropped."""
    ids: List[str] = []
    for part in ID_SEPARATORS.split(raw):
        part = part.strip()
        if part not in NO_ID and part not in ids:
            ids.append(part)
    return tuple(ids)


def _letters(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def align(text: str, start: int, end: int, surface: str) -> Tuple[Optional[Tuple[int, int]], str]:
    """((start, end) or None, how): `exact` (the text at the offsets is the surface), `surface_mismatch` (same letters
    and digits: offsets kept), `realigned` (the nearest copy of the surface within ALIGN_WINDOW characters) or
    `offset_mismatch` (not found: None)."""
    inside = 0 <= start < end <= len(text)
    if inside and text[start:end] == surface:
        return (start, end), "exact"
    letters = _letters(surface)
    if inside and letters and _letters(text[start:end]) == letters:
        return (start, end), "surface_mismatch"
    if surface.strip():
        lo, hi = max(0, start - ALIGN_WINDOW), min(len(text), max(end, start + len(surface)) + ALIGN_WINDOW)
        best: Optional[int] = None
        i = text.find(surface, lo, hi)
        while i != -1:
            if best is None or abs(i - start) < abs(best - start):
                best = i
            i = text.find(surface, i + 1, hi)
        if best is not None:
            return (best, best + len(surface)), "realigned"
    return None, "offset_mismatch"


def _lines(path: Path) -> Iterator[Tuple[int, str]]:
    return text_lines(path, "a PubTator file", "check the custom_mentions var / the mentions path")


def first_line(path: PathLike) -> str:
    """The first non-blank line of a plain or gzip file (within its first few KB), '' if none."""
    with open_dump(path) as f:
        head = f.read(HEAD_BYTES)
    for line in head.decode("utf8", errors="replace").lstrip("\ufeff").splitlines():
        if line.strip():
            return line
    return ""


def is_pubtator(path: PathLike) -> bool:
    """Whether a file's first non-blank line is a PubTator title line `PMID|t|...`."""
    path = Path(path)
    return path.is_file() and bool(TITLE.match(first_line(path)))


def has_pubtator_name(path: PathLike) -> bool:
    name = Path(path).name.lower().removesuffix(".gz")
    return name.endswith(SUFFIXES)


def split_of_name(path: PathLike) -> Optional[str]:
    """The split a PubTator file's name gives (`train`, `dev` or `test`; first match of SPLIT_WORDS), else None."""
    name = Path(path).name.lower()
    for word, split in SPLIT_WORDS:
        if word in name:
            return split
    return None


class _Open:
    """The document being read."""

    def __init__(self, doc_id: str, title: str, line: int):
        self.id = doc_id
        self.title = title
        self.abstract: Optional[str] = None
        self.line = line
        self.rows: List[Tuple[int, List[str]]] = []

    @property
    def text(self) -> str:
        return self.title if self.abstract is None else f"{self.title} {self.abstract}"


def read_pubtator(path: PathLike, tally: Optional[Tally] = None) -> Iterator[PubtatorDoc]:
    """The documents of a PubTator file (plain or gzip), in file order, warts handled as the module says; `tally`
    (if given) collects the counts: documents, mentions, composite_mentions, mentions_without_id, surface_mismatch,
    realigned, offset_mismatch, duplicate_documents, duplicate_document_mentions, relations."""
    path = Path(path)
    tally = tally if tally is not None else Tally()
    seen: Dict[str, Tuple[int, bytes]] = {}  # doc id -> (line, digest of text and mentions)
    current: Optional[_Open] = None

    def finish(doc: _Open) -> Optional[PubtatorDoc]:
        text = doc.text
        digest = hashlib.blake2b(
            "\n".join([text, *("\t".join(cols) for _, cols in doc.rows)]).encode("utf8"), digest_size=16
        ).digest()
        if doc.id in seen:
            first, first_digest = seen[doc.id]
            if first_digest != digest:
                raise InputError(
                    path,
                    f"document {doc.id} appears again (first at line {first}) with another text or other mentions",
                    line=doc.line,
                    hint="keep one copy of the document",
                )
            tally.add("duplicate_documents", f"{path}:{doc.line}")
            tally.add("duplicate_document_mentions", n=len(doc.rows))
            return None
        seen[doc.id] = (doc.line, digest)
        mentions = []
        for number, cols in doc.rows:
            mention = _mention(path, number, cols, text, tally)
            if mention is not None:
                mentions.append(mention)
        tally.add("documents")
        return PubtatorDoc(doc.id, text, mentions, doc.line)

    for number, line in _lines(path):
        if not line.strip():
            if current is not None:
                done = finish(current)
                current = None
                if done is not None:
                    yield done
            continue
        title = TITLE.match(line)
        if title:
            if current is not None:  # no blank line between documents
                done = finish(current)
                if done is not None:
                    yield done
            current = _Open(title.group(1), title.group(2), number)
            continue
        abstract = ABSTRACT.match(line)
        if abstract:
            if current is None or current.id != abstract.group(1):
                raise InputError(path, f"abstract of document {abstract.group(1)} without its title line", line=number)
            if current.abstract is not None:
                raise InputError(path, f"a second abstract line for document {current.id}", line=number)
            if current.rows:
                raise InputError(path, f"the abstract of document {current.id} after its annotations", line=number)
            current.abstract = abstract.group(2)
            continue
        cols = line.split("\t")
        if len(cols) < 4:
            raise InputError(
                path,
                f"not a PubTator line: {line[:60]!r}",
                line=number,
                hint="expected PMID|t|title, PMID|a|abstract or PMID<TAB>start<TAB>end<TAB>text<TAB>class<TAB>id",
            )
        if current is None or cols[0] != current.id:
            raise InputError(
                path,
                f"annotation of document {cols[0]!r} outside its document"
                + (f" (the current document is {current.id})" if current is not None else ""),
                line=number,
                hint="a document's title and abstract lines come first, its annotation lines right after them",
            )
        if len(cols) == 4 and not cols[1].strip().isdigit():
            tally.add("relations")
            continue
        current.rows.append((number, cols))
    if current is not None:
        done = finish(current)
        if done is not None:
            yield done


def _mention(path: Path, number: int, cols: List[str], text: str, tally: Tally) -> Optional[PubtatorMention]:
    if len(cols) < 5:
        raise InputError(
            path,
            f"a mention line needs 6 tab-separated columns (PMID, start, end, text, class, id), got {len(cols)}",
            line=number,
        )
    try:
        start, end = int(cols[1]), int(cols[2])
    except ValueError:
        raise InputError(
            path, f"mention offsets must be integers, got {cols[1]!r} and {cols[2]!r}", line=number
        ) from None
    if start < 0 or end <= start:
        raise InputError(path, f"mention offsets [{start}, {end}) are not a span (0 <= start < end)", line=number)
    surface = cols[3]
    where = f"{path}:{number}"
    span, how = align(text, start, end, surface)
    if how != "exact":
        tally.add(how, where)
    if span is None:
        return None
    ids = split_ids(cols[5]) if len(cols) > 5 else ()
    tally.add("mentions")
    if not ids:
        tally.add("mentions_without_id", where)
    elif len(ids) > 1:
        tally.add("composite_mentions")
    return PubtatorMention(span[0], span[1], surface, cols[4].strip(), ids, number)
