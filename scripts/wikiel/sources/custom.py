"""Your own knowledge graph instead of Wikidata + Wikipedia: the input formats, and the converter that turns them
into the same files the parse steps write, so build-kb, extract-mentions, train, evaluate, build-linker and the
learning curve run unchanged.

Input formats (UTF-8; blank lines are skipped; errors name the file and line)
-------------------------------------------------------------------------------

Entities, JSONL, one entity per line (required):

    {"id": "ACME-1", "name": "Acme Corporation", "aliases": ["Acme", "ACME"], "description": "US maker of anvils",
     "types": ["COMPANY", "MANUFACTURER"], "frequency": 12}

- `id` (required): a non-empty string (an integer is taken as its decimal string), unique in the file, without
  tabs, line breaks or leading/trailing spaces. It is the entity's id in the KB and in the linker's output
  (`ent.kb_id_`), and is case-sensitive.
- `name` (required): a non-empty string; it is an alias of the entity and its label.
- `aliases`: list of strings, more surface forms (e.g. abbreviations, brand names); several entities may share an
  alias, that is what makes linking ambiguous. Blank and repeated aliases are dropped.
- `description`: string; its words give the entity's vector, which the linker compares with the context. Entities
  without one are kept (their name stands in for it).
- `types`: list of strings (or one string); the first is the entity's type: the label of its mentions and the
  per-type rows of the evaluation. None given: `OTHER`.
- `frequency`: non-negative integer, how often the entity is mentioned (e.g. page views, citations). The entity's
  count in the KB is the larger of it and its number of train mentions, at least 1. Other keys are ignored.

Alias priors, optional: how often an alias refers to an entity, beyond the annotated mentions. TSV lines
`alias<TAB>id<TAB>count` (a first line `alias<TAB>id<TAB>count` is taken as a header), or, for a `.jsonl`/`.json`
file, JSONL lines `{"alias": "Acme", "id": "ACME-1", "count": 40}`. Counts are positive integers; they are added to
the counts of the train mentions with that text, and P(entity | alias) in the KB comes from the sum.

Annotated mentions (required): JSONL documents, one per line,

    {"id": "doc1", "text": "Acme sued Initech.", "spans": [{"start": 0, "end": 4, "id": "ACME-1"}], "split": "dev"}

- `id`: unique document id (string or integer); `text`: non-empty string;
- `spans`: list of `{"start", "end", "id"}` with `start`/`end` character offsets into `text` (Python string
  indices: Unicode code points, end exclusive), `0 <= start < end <= len(text)`, not overlapping, not blank;
  `id` an entity id. Spans may be omitted: unannotated text still trains the word vectors.
- `split`: optional, `train` or `dev`; without it a stable hash of the document id puts `dev_percent` % of the
  documents in dev (the same MD5 rule as Wikipedia titles; a non-zero `seed` salts it).

  Or spaCy `.spacy` files (DocBin) whose `doc.ents` carry the entity id as `kb_id_` (ents without a kb_id, or with
  `NIL`, are not links); a file named `train.spacy` or `dev.spacy` gives its documents that split. The mentions
  path may be one file or a directory, whose `*.jsonl` and `*.spacy` files are read in name order.

Span ids that are not in the entity file are counted and reported (the text stays a link to an unknown entity,
like a Wikipedia link to a page outside the KB); with `strict` they are an error. Dev documents never feed the
priors or the entity counts.

Outputs (the parse steps' files; see `wikiel.wikidata` and `wikiel.wikipedia`)
------------------------------------------------------------------------------

- `wikidata/entities.jsonl`: `{"qid": id, "title": id, "label": name, "description", "aliases", "types": [],
  "type": first type}`, sorted by id; `wikidata/subclass_of.tsv`: empty; `wikidata/stats.json`.
- `wikipedia/articles.jsonl`: `{"id": doc id, "title": doc id, "split", "text", "links": [[start, end, id], ...]}`
  in input order; `link_counts.tsv` (`anchor<TAB>id<TAB>count`: train spans plus priors), `inlink_counts.tsv`
  (`id<TAB>count` for every entity), `redirects.tsv` (empty), `siteinfo.json` (case-sensitive titles), `stats.json`.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import orjson
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from wikiel import defaults
from wikiel.sources.wikipedia import split_of
from wikiel.util import InputError, OutputError, PathLike, StepStats, atomic_open, read_json, write_json

DEFAULT_TYPE = "OTHER"  # the type of entities without `types` (wikiel.types.OTHER)
SPLITS = ("train", "dev")
NIL_IDS = ("", "NIL")
MENTION_SUFFIXES = (".jsonl", ".spacy")
UNSAFE = re.compile(r"[\x00-\x1f\x7f]")  # tabs, line breaks and other control characters break the TSV files
PRIORS_HEADER = ["alias", "id", "count"]
EXAMPLES = 10  # unknown ids listed in stats.json
QUICK_RECORDS = 100  # records read by the quick check of the fetch step
SOURCE = "custom"


@dataclass
class CustomEntity:
    id: str
    name: str
    aliases: List[str]
    description: str
    types: List[str]
    frequency: Optional[int]
    line: int

    @property
    def type(self) -> str:
        return self.types[0] if self.types else DEFAULT_TYPE


@dataclass
class MentionDoc:
    """One annotated document; `where` names it in messages (file:line, or file doc #n)."""

    id: str
    text: str
    spans: List[Tuple[int, int, str]]
    split: Optional[str]
    path: Path
    line: Optional[int] = None
    where: str = ""


@dataclass
class CustomInputs:
    entities: Path
    mentions: List[Path]
    priors: Optional[Path] = None


# ---- reading -------------------------------------------------------------------------------------------------
def _jsonl(path: Path, limit: int = 0) -> Iterator[Tuple[int, Any]]:
    """(line number, parsed value) of the non-blank lines of a JSONL file; InputError for a line that is not JSON."""
    _require_file(path)
    n = 0
    with open(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                value = orjson.loads(raw)
            except orjson.JSONDecodeError as err:
                raise InputError(
                    path,
                    f"is not JSON ({err})",
                    line=number,
                    hint="one JSON object per line, see scripts/wikiel/custom.py",
                ) from err
            yield number, value
            n += 1
            if limit and n >= limit:
                return


def _require_file(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "does not exist", hint="check the custom_* vars / the paths given")
    if not path.is_file():
        raise InputError(path, "is a directory, expected a file")


def _object(path: Path, number: int, value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(path, f"expected a JSON object ({what}), got {type(value).__name__}", line=number)
    return value


def _identifier(path: Path, number: int, value: Any, key: str) -> str:
    """A required id: a non-empty string (or integer) without control characters or surrounding spaces."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise InputError(path, f"'{key}' must be a non-empty string, got {value!r}", line=number)
    if UNSAFE.search(value) or value != value.strip():
        raise InputError(path, f"'{key}' {value!r} has tabs, line breaks or surrounding spaces", line=number)
    return value


def _string_list(path: Path, number: int, value: Any, key: str) -> List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(path, f"'{key}' must be a list of strings, got {value!r}", line=number)
    out: List[str] = []
    for v in value:
        v = " ".join(v.split())
        if v and v not in out:
            out.append(v)
    return out


def read_entities(path: PathLike, limit: int = 0) -> Dict[str, CustomEntity]:
    """id -> entity, in file order (the first `limit` entities if given); InputError naming file:line for bad JSON,
    a missing id or name, a duplicate id or a field of the wrong type."""
    path = Path(path)
    entities: Dict[str, CustomEntity] = {}
    for number, value in _jsonl(path, limit):
        record = _object(path, number, value, "an entity")
        entity_id = _identifier(path, number, record.get("id"), "id")
        if entity_id in entities:
            raise InputError(
                path, f"duplicate id {entity_id!r} (first at line {entities[entity_id].line})", line=number
            )
        name = record.get("name")
        if not isinstance(name, str) or not name.strip():
            raise InputError(path, f"entity {entity_id!r} has no name (a non-empty string is required)", line=number)
        name = " ".join(name.split())
        description = record.get("description") or ""
        if not isinstance(description, str):
            raise InputError(path, f"'description' must be a string, got {description!r}", line=number)
        frequency = record.get("frequency")
        if frequency is not None and (isinstance(frequency, bool) or not isinstance(frequency, int) or frequency < 0):
            raise InputError(path, f"'frequency' must be a non-negative integer, got {frequency!r}", line=number)
        aliases = [a for a in _string_list(path, number, record.get("aliases"), "aliases") if a != name]
        entities[entity_id] = CustomEntity(
            entity_id,
            name,
            aliases,
            " ".join(description.split()),
            _string_list(path, number, record.get("types"), "types"),
            frequency,
            number,
        )
    if not entities:
        raise InputError(path, "holds no entities", hint="one JSON object per line with at least 'id' and 'name'")
    return entities


def read_priors(path: PathLike) -> Iterator[Tuple[str, str, int, int]]:
    """(alias, id, count, line) of an alias-prior table: TSV `alias<TAB>id<TAB>count`, or JSONL for .jsonl/.json."""
    path = Path(path)
    _require_file(path)
    if path.suffix in (".jsonl", ".json"):
        for number, value in _jsonl(path):
            record = _object(path, number, value, "an alias prior")
            alias = record.get("alias")
            yield (
                _alias(path, number, alias),
                _identifier(path, number, record.get("id"), "id"),
                _count(path, number, record.get("count")),
                number,
            )
        return
    with open(path, encoding="utf8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                continue
            parts = line.split("\t")
            if number == 1 and [p.strip().lower() for p in parts] == PRIORS_HEADER:
                continue
            if len(parts) != 3:
                raise InputError(
                    path, f"expected 3 tab-separated columns alias, id, count; got {len(parts)}", line=number
                )
            count = int(parts[2]) if parts[2].strip().isdigit() else parts[2]
            yield (
                _alias(path, number, parts[0]),
                _identifier(path, number, parts[1], "id"),
                _count(path, number, count),
                number,
            )


def _alias(path: Path, number: int, alias: Any) -> str:
    if not isinstance(alias, str) or not alias.strip():
        raise InputError(path, f"'alias' must be a non-empty string, got {alias!r}", line=number)
    if UNSAFE.search(alias):
        raise InputError(path, f"alias {alias!r} has tabs or line breaks", line=number)
    return " ".join(alias.split())


def _count(path: Path, number: int, count: Any) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InputError(path, f"'count' must be a positive integer, got {count!r}", line=number)
    return count


def mention_files(path: PathLike) -> List[Path]:
    """The mention files of a path: the file itself, or a directory's *.jsonl and *.spacy files in name order."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "does not exist", hint="check the custom_mentions var / the mentions path")
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in MENTION_SUFFIXES)
        if not files:
            raise InputError(path, "holds no *.jsonl or *.spacy mention files")
        return files
    return [path]


def read_mentions(paths: Union[PathLike, Sequence[PathLike]], limit: int = 0) -> Iterator[MentionDoc]:
    """The annotated documents of the mention files, validated; InputError naming file:line (or the doc number of a
    .spacy file) for bad JSON, a missing id or text, a repeated document id, a bad split, and spans out of range,
    blank or overlapping."""
    if isinstance(paths, (str, Path)):
        paths = mention_files(paths)
    seen: Dict[str, str] = {}
    for path in map(Path, paths):
        docs = _spacy_docs(path, limit) if path.suffix == ".spacy" else _jsonl_docs(path, limit)
        for doc in docs:
            if doc.id in seen:
                raise InputError(
                    doc.path, f"{doc.where}: duplicate document id {doc.id!r} (first at {seen[doc.id]})", line=doc.line
                )
            seen[doc.id] = f"{doc.path}:{doc.line}" if doc.line else f"{doc.path} {doc.where}"
            yield doc


def _jsonl_docs(path: Path, limit: int) -> Iterator[MentionDoc]:
    for number, value in _jsonl(path, limit):
        record = _object(path, number, value, "a document")
        doc_id = _identifier(path, number, record.get("id"), "id")
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise InputError(path, f"document {doc_id!r} has no text (a non-empty string is required)", line=number)
        split = record.get("split")
        if split is not None and split not in SPLITS:
            raise InputError(path, f"'split' must be 'train' or 'dev' (or absent), got {split!r}", line=number)
        raw_spans = record.get("spans") or []
        if not isinstance(raw_spans, list):
            raise InputError(path, f"'spans' must be a list, got {type(raw_spans).__name__}", line=number)
        spans: List[Tuple[int, int, str]] = []
        for i, span in enumerate(raw_spans):
            if not isinstance(span, dict):
                raise InputError(path, f"span {i} must be an object {{start, end, id}}", line=number)
            start, end = span.get("start"), span.get("end")
            if (
                not (isinstance(start, int) and isinstance(end, int))
                or isinstance(start, bool)
                or isinstance(end, bool)
            ):
                raise InputError(
                    path, f"span {i}: 'start' and 'end' must be integers, got {start!r}, {end!r}", line=number
                )
            spans.append((start, end, _identifier(path, number, span.get("id"), f"spans[{i}].id")))
        doc = MentionDoc(doc_id, text, spans, split, path, number, f"document {doc_id!r}")
        _check_spans(doc)
        yield doc


def _spacy_docs(path: Path, limit: int) -> Iterator[MentionDoc]:
    _require_file(path)
    try:
        docbin = DocBin().from_disk(path)
    except Exception as err:  # msgpack, zlib or key errors of a file that is not a DocBin
        raise InputError(path, f"is not a spaCy DocBin (.spacy) file ({type(err).__name__}: {err})") from err
    split = path.stem if path.stem in SPLITS else None
    for number, doc in enumerate(docbin.get_docs(Vocab()), 1):
        spans = [(e.start_char, e.end_char, e.kb_id_) for e in doc.ents if e.kb_id_ not in NIL_IDS]
        mention_doc = MentionDoc(f"{path.name}#{number}", doc.text, spans, split, path, None, f"doc #{number}")
        if not doc.text.strip():
            raise InputError(path, f"doc #{number} has no text")
        _check_spans(mention_doc)
        yield mention_doc
        if limit and number >= limit:
            return


def _check_spans(doc: MentionDoc) -> None:
    """Spans inside the text, not blank, not overlapping (sorted by start on return)."""
    n = len(doc.text)
    for start, end, entity_id in doc.spans:
        if not 0 <= start < end <= n:
            raise InputError(
                doc.path,
                f"{doc.where}: span [{start}, {end}) -> {entity_id!r} is out of range (the "
                f"text has {n} characters; offsets are 0-based, end exclusive)",
                line=doc.line,
            )
        if not doc.text[start:end].strip():
            raise InputError(
                doc.path, f"{doc.where}: span [{start}, {end}) -> {entity_id!r} covers only whitespace", line=doc.line
            )
    doc.spans.sort()
    for (s1, e1, id1), (s2, e2, id2) in zip(doc.spans, doc.spans[1:]):
        if s2 < e1:
            raise InputError(
                doc.path,
                f"{doc.where}: spans [{s1}, {e1}) -> {id1!r} and [{s2}, {e2}) -> {id2!r} "
                f"overlap ({doc.text[s1:e1]!r}, {doc.text[s2:e2]!r})",
                line=doc.line,
            )


# ---- converting ----------------------------------------------------------------------------------------------
def doc_split(doc: MentionDoc, dev_percent: float, seed: int = defaults.SEED) -> str:
    """The document's own split, else the stable hash split of its id (the rule of Wikipedia titles)."""
    if doc.split:
        return doc.split
    return split_of(doc.id if seed == 0 else f"{seed}\t{doc.id}", dev_percent)


def convert_entities(entities_path: PathLike, output_dir: PathLike) -> dict:
    """`entities.jsonl`, an empty `subclass_of.tsv` and `stats.json` in `output_dir` (parse-wikidata's files)."""
    entities_path, output_dir = Path(entities_path), Path(output_dir)
    stats = StepStats("parse-wikidata")
    entities = read_entities(entities_path)
    with atomic_open(output_dir / "entities.jsonl", "wb") as f:
        for entity_id in sorted(entities):
            e = entities[entity_id]
            f.write(
                orjson.dumps(
                    {
                        "qid": e.id,
                        "title": e.id,
                        "label": e.name,
                        "description": e.description,
                        "aliases": e.aliases,
                        "types": [],
                        "type": e.type,
                    }
                )
                + b"\n"
            )
    with atomic_open(output_dir / "subclass_of.tsv", "wb"):
        pass
    values = entities.values()
    stats["source"] = SOURCE
    stats["entities"] = len(entities)
    stats["kept"] = len(entities)
    stats["with_description"] = sum(bool(e.description) for e in values)
    stats["with_types"] = sum(bool(e.types) for e in values)
    stats["with_frequency"] = sum(e.frequency is not None for e in values)
    stats["aliases"] = sum(len(e.aliases) for e in values)
    stats["types"] = dict(sorted(Counter(e.type for e in values).items()))
    stats["bytes_in"] = entities_path.stat().st_size
    stats["inputs"] = [str(entities_path)]
    return stats.write(output_dir / "stats.json")


def convert_mentions(
    entities_path: PathLike,
    mentions: Union[PathLike, Sequence[PathLike]],
    output_dir: PathLike,
    priors: Optional[PathLike] = None,
    dev_percent: float = defaults.DEV_PERCENT,
    seed: int = defaults.SEED,
    lang: str = defaults.LANG,
    strict: bool = False,
    max_train_articles: int = defaults.MAX_TRAIN_ARTICLES,
    max_dev_articles: int = defaults.MAX_DEV_ARTICLES,
) -> dict:
    """parse-wikipedia's files in `output_dir` from the annotated documents (and optional alias priors)."""
    output_dir = Path(output_dir)
    stats = StepStats("parse-wikipedia")
    entities = read_entities(entities_path)
    files = mention_files(mentions) if isinstance(mentions, (str, Path)) else [Path(p) for p in mentions]
    counts: Counter = Counter()
    links: Counter = Counter()  # (anchor, id) -> count, train documents and priors
    train_mentions: Counter = Counter()
    unknown: Counter = Counter()
    limits = {"train": max_train_articles, "dev": max_dev_articles}
    written = {"train": 0, "dev": 0}
    with atomic_open(output_dir / "articles.jsonl", "wb") as out:
        for doc in read_mentions(files):
            split = doc_split(doc, dev_percent, seed)
            for start, end, entity_id in doc.spans:
                if entity_id not in entities:
                    if strict:
                        raise InputError(
                            doc.path,
                            f"{doc.where}: span [{start}, {end}) links to {entity_id!r}, "
                            f"which is not in {entities_path}",
                            line=doc.line,
                            hint="add the entity, or convert without --strict",
                        )
                    unknown[entity_id] += 1
                    continue
                if split == "train":
                    train_mentions[entity_id] += 1
                    anchor = " ".join(doc.text[start:end].split())
                    if UNSAFE.search(anchor):
                        counts["anchors_not_tsv_safe"] += 1
                    else:
                        links[(anchor, entity_id)] += 1
            counts["articles"] += 1
            counts[f"{split}_articles"] += 1
            counts["links"] += len(doc.spans)
            counts[f"{split}_links"] += len(doc.spans)
            if not limits[split] or written[split] < limits[split]:
                written[split] += 1
                out.write(
                    orjson.dumps(
                        {
                            "id": doc.id,
                            "title": doc.id,
                            "split": split,
                            "text": doc.text,
                            "links": [list(span) for span in doc.spans],
                        }
                    )
                    + b"\n"
                )
        _require_content(counts, files, dev_percent)
    if priors is not None:
        for alias, entity_id, count, number in read_priors(priors):
            if entity_id not in entities:
                if strict:
                    raise InputError(
                        priors,
                        f"alias {alias!r} -> {entity_id!r}: the id is not in {entities_path}",
                        line=number,
                        hint="add the entity, or convert without --strict",
                    )
                counts["prior_rows_unknown_id"] += 1
                continue
            counts["prior_rows"] += 1
            links[(alias, entity_id)] += count
    write_json(
        output_dir / "siteinfo.json",
        {"lang": lang, "dbname": "", "case": "case-sensitive", "namespaces": {}, "source": SOURCE},
    )
    with atomic_open(output_dir / "redirects.tsv", "w"):
        pass
    with atomic_open(output_dir / "link_counts.tsv", "w") as f:
        for anchor, entity_id in sorted(links, key=lambda pair: f"{pair[0]}\t{pair[1]}"):
            f.write(f"{anchor}\t{entity_id}\t{links[(anchor, entity_id)]}\n")
    with atomic_open(output_dir / "inlink_counts.tsv", "w") as f:
        for entity_id in sorted(entities):
            f.write(f"{entity_id}\t{max(train_mentions[entity_id], entities[entity_id].frequency or 0, 1)}\n")
    if unknown:
        examples = ", ".join(repr(i) for i, _ in unknown.most_common(5))
        print(
            f"WARNING: {sum(unknown.values()):,} span(s) link to {len(unknown):,} id(s) not in {entities_path} "
            f"(e.g. {examples}); kept as links to unknown entities (--strict makes this an error)",
            file=sys.stderr,
        )
    stats.counts.update(sorted(counts.items()))
    for key in ("redirects", "pages", "empty_pages", "other_namespace_pages"):
        stats[key] = 0
    stats["source"] = SOURCE
    stats["articles_written"] = sum(written.values())
    stats["entities"] = len(entities)
    stats["entities_with_train_mentions"] = len(train_mentions)
    stats["unknown_id_spans"] = sum(unknown.values())
    stats["unknown_ids"] = len(unknown)
    stats["unknown_id_examples"] = sorted(unknown, key=lambda i: (-unknown[i], i))[:EXAMPLES]
    stats["anchor_target_pairs"] = len(links)
    stats["distinct_targets"] = len(entities)
    stats["input_bytes"] = sum(p.stat().st_size for p in files)
    stats["inputs"] = [str(p) for p in files] + ([str(priors)] if priors is not None else [])
    return stats.write(output_dir / "stats.json")


def _require_content(counts: Counter, files: List[Path], dev_percent: float) -> None:
    where = ", ".join(map(str, files))
    if not counts["articles"]:
        raise OutputError(f"no documents in {where}: check the custom_mentions var")
    for split in SPLITS:
        if not counts[f"{split}_articles"]:
            raise OutputError(
                f"no {split} documents among the {counts['articles']} of {where} (dev_percent "
                f'{dev_percent}): change vars.dev_percent or give documents a "split"'
            )
    if not counts["train_links"]:
        raise OutputError(f"no annotated span in the train documents of {where}: nothing to learn from")


def convert_custom(
    entities: PathLike,
    mentions: Union[PathLike, Sequence[PathLike]],
    output_corpus_dir: PathLike,
    priors: Optional[PathLike] = None,
    dev_percent: float = defaults.DEV_PERCENT,
    seed: int = defaults.SEED,
    lang: str = defaults.LANG,
    strict: bool = False,
) -> Dict[str, dict]:
    """Write `wikidata/` and `wikipedia/` under `output_corpus_dir` (e.g. `corpus`); returns both stats."""
    out = Path(output_corpus_dir)
    return {
        "wikidata": convert_entities(entities, out / "wikidata"),
        "wikipedia": convert_mentions(entities, mentions, out / "wikipedia", priors, dev_percent, seed, lang, strict),
    }


# ---- checking (fetch and check steps) ------------------------------------------------------------------------
def summarize_entities(path: PathLike, limit: int = 0) -> Tuple[Dict[str, CustomEntity], str]:
    entities = read_entities(path, limit)
    values = entities.values()
    n_types = len({e.type for e in values})
    return entities, (
        f"{len(entities):,} entities{' (first ones)' if limit else ''}, "
        f"{sum(bool(e.description) for e in values):,} with a description, {n_types} types, "
        f"{sum(len(e.aliases) for e in values):,} aliases"
    )


def summarize_mentions(paths: Sequence[PathLike], entity_ids: Optional[set] = None, limit: int = 0) -> str:
    docs = spans = 0
    unknown: Counter = Counter()
    for doc in read_mentions(paths, limit):
        docs += 1
        spans += len(doc.spans)
        if entity_ids is not None:
            unknown.update(i for _, _, i in doc.spans if i not in entity_ids)
    if not docs:
        raise InputError(Path(paths[0]), "holds no documents")
    text = f"{docs:,} documents{' (first ones)' if limit else ''}, {spans:,} spans"
    if unknown:
        text += (
            f"; WARNING: {sum(unknown.values()):,} spans link to {len(unknown):,} ids not in the entity file "
            f"(e.g. {', '.join(map(repr, sorted(unknown)[:3]))})"
        )
    return text


def summarize_priors(path: PathLike, entity_ids: Optional[set] = None, limit: int = 0) -> str:
    rows = unknown = 0
    for _, entity_id, _, _ in read_priors(path):
        rows += 1
        unknown += entity_ids is not None and entity_id not in entity_ids
        if limit and rows >= limit:
            break
    return f"{rows:,} alias priors{' (first ones)' if limit else ''}" + (
        f"; WARNING: {unknown:,} with ids not in the entity file" if unknown else ""
    )


def quick_check(entities: PathLike, mentions: Sequence[PathLike], priors: Optional[PathLike] = None) -> None:
    """The first records of each file parse in the documented format (the check step reads them all)."""
    summarize_entities(entities, QUICK_RECORDS)
    summarize_mentions(mentions, None, QUICK_RECORDS)
    if priors is not None:
        summarize_priors(priors, None, QUICK_RECORDS)


def is_custom_manifest(manifest_path: PathLike) -> bool:
    path = Path(manifest_path)
    if not path.is_file():
        return False
    try:
        manifest = read_json(path)
    except ValueError:
        return False
    return isinstance(manifest, dict) and manifest.get("source") == SOURCE


def resolve_entry(manifest_path: PathLike, entry: Dict[str, Any]) -> Path:
    """A manifest path as given (relative to the working directory), else relative to the project directory the
    manifest is in."""
    path = Path(entry["path"])
    beside = Path(manifest_path).resolve().parent.parent / path
    return beside if not path.is_absolute() and not path.exists() and beside.exists() else path


def inputs_from_manifest(manifest_path: PathLike) -> CustomInputs:
    """The custom KB files of a manifest written by `fetch.use_custom`; InputError if one is gone or changed size."""
    manifest_path = Path(manifest_path)
    manifest = read_json(manifest_path)

    def existing(entry: Dict[str, Any]) -> Path:
        path = resolve_entry(manifest_path, entry)
        if not path.is_file():
            raise InputError(manifest_path, f"the custom KB file {path} does not exist", hint="re-run the fetch step")
        if path.stat().st_size != entry.get("bytes"):
            raise InputError(
                path,
                f"has {path.stat().st_size:,} bytes, the manifest says {entry.get('bytes'):,}: it "
                "changed since the fetch step",
                hint="re-run the fetch step (with --force)",
            )
        return path

    try:
        return CustomInputs(
            existing(manifest["entities"]),
            [existing(e) for e in manifest["mentions"]],
            existing(manifest["priors"]) if manifest.get("priors") else None,
        )
    except (KeyError, TypeError) as err:
        raise InputError(manifest_path, f"is not a custom KB manifest ({err!r})", hint="re-run the fetch step") from err
