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
  alias, that is what makes linking ambiguous. Blank and repeated aliases are dropped. Wikidata's per-language maps
  (`{"en": [...]}`, `{"en": {"value": ...}}`) are not this format: they are an error naming the line (give the
  aliases of one language as a list), and so are Wikidata's keys `labels`, `descriptions` and the singular `alias`,
  `label`, `type` where this format's `name`, `description`, `aliases`, `types` are missing.
- `description`: string; its words give the entity's vector, which the linker compares with the context. Entities
  without one are kept (their name stands in for it).
- `types`: list of strings (or one string); the first is the entity's type: the label of its mentions and the
  per-type rows of the evaluation. None given: `OTHER`.
- `frequency`: non-negative integer, how often the entity is mentioned (e.g. page views, citations). The entity's
  count in the KB is the larger of it and its number of train mentions, at least 1. Other keys are ignored.

  Or an ontology, read as published (plain or gzip; `wikiel.sources.ontology` has the details): a CTD vocabulary
  TSV (MEDIC `CTD_diseases.tsv.gz`) or an OBO file (GO, HPO, Cell Ontology, UBERON, Disease Ontology, ...). Each
  concept is an entity: its name, its EXACT and RELATED synonyms as aliases (`alias_scopes`), its definition as
  description, its type (CTD: the first SlimMappings value, else `Disease`; OBO: the namespace, or the top-level
  branch with `obo_types="branch"`), its alternative ids and parents (ParentIDs / is_a) kept. Obsolete OBO terms are
  not entities. The format is found from the name (`.jsonl`/`.json`, `.obo[.gz]`) or the content (a first line
  `{` is JSONL, `format-version:` or `[Term]` OBO, CTD's `#` header or a `.tsv` with its columns CTD); anything else
  is an InputError naming the three formats.

Alias priors, optional: how often an alias refers to an entity, beyond the annotated mentions. TSV lines
`alias<TAB>id<TAB>count` (a first line `alias<TAB>id<TAB>count` is taken as a header), or, for a `.jsonl`/`.json`
file, JSONL lines `{"alias": "Acme", "id": "ACME-1", "count": 40}`. Counts are positive integers; they are added to
the counts of the train mentions with that text, and P(entity | alias) in the KB comes from the sum.

Annotated mentions (required): JSONL documents, one per line,

    {"id": "doc1", "text": "Acme sued Initech.", "spans": [{"start": 0, "end": 4, "id": "ACME-1"}], "split": "dev"}

- `id`: unique document id (string or integer); `text`: non-empty string;
- `spans`: list of `{"start", "end", "id"}` with `start`/`end` character offsets into `text` (Python string
  indices: Unicode code points, end exclusive), `0 <= start < end <= len(text)`, not overlapping, not blank;
  `id` an entity id. Spans may be omitted: unannotated text still trains the word vectors. A span of a known entity
  whose text is not a plausible surface form of it is reported with its file:line and counted in stats.json
  (`implausible_spans`): it starts or ends inside a word, or its text is neither a name/alias of the entity nor a
  whole-word part of one (nor contains one as whole words), compared case- and accent-insensitively. Offsets given
  as UTF-8 byte or UTF-16 code-unit offsets (texts with non-ASCII characters before the span) show up so, and the
  message says when they explain the spans. Such spans are kept (not counted as aliases when cut inside a word);
  `strict_spans` makes the first one an error. (PubTator mentions carry their own text, checked by the PubTator
  reader.)
- `split`: optional, `train`, `dev` or `test`; without it a stable hash of the document id puts `dev_percent` % of
  the documents in dev (the same MD5 rule as Wikipedia titles; a non-zero `seed` salts it). Test documents are held
  out: read, validated and counted, never written to `articles.jsonl`, so they feed nothing (an evaluation reads
  them from the mention files).

  Or spaCy `.spacy` files (DocBin) whose `doc.ents` carry the entity id as `kb_id_` (ents without a kb_id, or with
  `NIL`, are not links); a file named `train.spacy`, `dev.spacy` or `test.spacy` gives its documents that split.

  Or PubTator files (`wikiel.sources.pubtator`: NCBI-disease, BC5CDR, ...; plain or gzip), found by their first
  line `PMID|t|title`. Their split comes from the file name: it contains `train` -> train, `develop` or `dev` -> dev,
  `test` -> test (first match), else the hash split. A mention with several ids (`D1|D2`, `D1+D2`: a composite
  mention) links to the first id that resolves; mentions without an id (`-1`) are not links; of overlapping
  mentions the first (longest) is kept. Offset warts, repeated documents and the rest are counted in stats.json
  (`pubtator`) and printed.

  The mentions path may be one file or a directory, whose `*.jsonl` and `*.spacy` files, and `.txt`/`.pubtator`
  (also `.gz`) files that are PubTator, are read in name order.

Span ids are resolved through the entity file: with JSONL entities an id is the entity's id or unknown; with an
ontology `Vocabulary.resolve` also maps an unprefixed id to its prefixed form (`D008661` -> `MESH:D008661`), an
alternative id to its concept and an obsolete id to its replacement. Each id's status (exact, prefixed, alternative,
replaced, obsolete, missing) is counted per split in stats.json (`id_status`). Span ids that resolve to no entity
are counted and reported (the text stays a link to an unknown entity, like a Wikipedia link to a page outside the
KB); with `strict` they are an error (a composite span only when none of its ids resolves). Dev and test documents
never feed the priors or the entity counts; `documents_of_split` gives a split's documents with resolved ids (the
held-out test documents for an evaluation).

Outputs (the parse steps' files; see `wikiel.wikidata` and `wikiel.wikipedia`)
------------------------------------------------------------------------------

- `wikidata/entities.jsonl`: `{"qid": id, "title": id, "label": name, "description", "aliases", "types": [],
  "type": first type}`, sorted by id; `wikidata/subclass_of.tsv`: empty; `wikidata/stats.json`.
- `wikidata/entities.jsonl` of an ontology also has `alt_ids` and `parents` (where the concept has them).
- `wikipedia/articles.jsonl`: `{"id": doc id, "title": doc id, "split", "text", "links": [[start, end, id], ...]}`
  for the train and dev documents in input order, ids resolved; `link_counts.tsv` (`anchor<TAB>id<TAB>count`: train
  spans plus priors), `inlink_counts.tsv` (`id<TAB>count` for every entity), `redirects.tsv` (empty),
  `siteinfo.json` (case-sensitive titles), `stats.json`.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import orjson
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from wikiel import defaults
from wikiel.sources import ontology, pubtator
from wikiel.sources.ontology import Vocabulary
from wikiel.sources.pubtator import Tally
from wikiel.sources.wikipedia import split_of
from wikiel.util import (
    InputError,
    OutputError,
    PathLike,
    StepStats,
    atomic_open,
    open_dump,
    read_json,
    write_json,
    writes_step,
)

DEFAULT_TYPE = "OTHER"  # the type of entities without `types` (wikiel.types.OTHER)
SPLITS = ("train", "dev", "test")
TRAINED_SPLITS = ("train", "dev")  # written to articles.jsonl; test documents are held out
HELD_OUT = "test"
NIL_IDS = ("", "NIL")
MENTION_SUFFIXES = (".jsonl", ".spacy")  # and PubTator files (wikiel.sources.pubtator)
ENTITY_FORMATS = ("jsonl", "ctd", "obo")
CTD_MARKERS = ("Comparative Toxicogenomics Database", "DiseaseID", "ChemicalID")
EXACT, MISSING = "exact", "missing"
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
    alt_ids: List[str] = field(default_factory=list)  # ontologies: alternative ids
    parents: List[str] = field(default_factory=list)  # ontologies: is_a / ParentIDs

    @property
    def type(self) -> str:
        return self.types[0] if self.types else DEFAULT_TYPE


@dataclass
class EntityFile:
    """The entities of an entity file, its format (`jsonl`, `ctd`, `obo`) and, for an ontology, its vocabulary
    (alternative and obsolete ids)."""

    path: Path
    format: str
    entities: Dict[str, CustomEntity]
    vocabulary: Optional[Vocabulary] = None

    def resolve(self, raw_id: str) -> Tuple[Optional[str], str]:
        """(entity id or None, status): JSONL ids are `exact` or `missing`; ontology ids per `Vocabulary.resolve`."""
        if self.vocabulary is None:
            return (raw_id, EXACT) if raw_id in self.entities else (None, MISSING)
        return self.vocabulary.resolve(raw_id)


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
    composite: Dict[Tuple[int, int], Tuple[str, ...]] = field(default_factory=dict)  # (start, end) -> all its ids


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
    if isinstance(value, dict) or (isinstance(value, list) and any(isinstance(v, dict) for v in value)):
        raise InputError(
            path,
            f'\'{key}\' is a map or a list of objects (Wikidata style, e.g. {{"en": [{{"value": ...}}]}}), got '
            f"{_short(value)}: this format wants a list of strings",
            line=number,
            hint=f'e.g. "{key}": ["Acme", "ACME"], the surface forms of the language of the texts',
        )
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(path, f"'{key}' must be a list of strings, got {_short(value)}", line=number)
    out: List[str] = []
    for v in value:
        v = " ".join(v.split())
        if v and v not in out:
            out.append(v)
    return out


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# keys of other formats (Wikidata's JSON, singular spellings) -> this format's key; an error where the latter is missing
FOREIGN_KEYS = {
    "labels": "name",
    "label": "name",
    "descriptions": "description",
    "alias": "aliases",
    "type": "types",
}


def _foreign_keys(path: Path, number: int, record: dict) -> None:
    for foreign, key in FOREIGN_KEYS.items():
        if foreign in record and key not in record:
            raise InputError(
                path,
                f"has {foreign!r} but no {key!r}: this format's key is {key!r} ({foreign!r} would be ignored)",
                line=number,
                hint='e.g. {"id": "ACME-1", "name": "Acme Corporation", "aliases": ["Acme"], "description": "...", '
                '"types": ["COMPANY"]}; see scripts/wikiel/sources/custom.py',
            )


def entity_format(path: PathLike) -> str:
    """`jsonl`, `ctd` or `obo`, from the file name or else its first lines; InputError for anything else."""
    path = Path(path)
    _require_file(path)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".json")):
        return "jsonl"
    if name.endswith(".obo"):
        return "obo"
    first = pubtator.first_line(path)
    if not first or first.startswith("{"):
        return "jsonl"
    if first.startswith(("format-version:", "[Term]", "[Typedef]", "data-version:", "ontology:")):
        return "obo"
    if first.startswith("#") and any(m in _head_text(path) for m in CTD_MARKERS):
        return "ctd"
    if name.endswith(".tsv") and first.count("\t") + 1 == len(ontology.CTD_FIELDS):  # MEDIC's columns, no header
        return "ctd"
    raise InputError(
        path,
        f"is not an entity file of a known format (its first line is {first[:60]!r})",
        hint="JSONL entities (see scripts/wikiel/sources/custom.py), a CTD vocabulary TSV (CTD_diseases.tsv[.gz]) "
        "or an OBO ontology (.obo[.gz])",
    )


def _head_text(path: Path) -> str:
    with open_dump(path) as f:
        return f.read(pubtator.HEAD_BYTES).decode("utf8", errors="replace")


def load_entities(
    path: PathLike,
    limit: int = 0,
    alias_scopes: str = defaults.ALIAS_SCOPES,
    obo_types: str = defaults.OBO_TYPES,
) -> EntityFile:
    """The entities of a JSONL, CTD TSV or OBO file (the first `limit` if given), with the vocabulary of an
    ontology; `alias_scopes` (e.g. `EXACT,RELATED`) are the synonym scopes that become aliases, `obo_types` is
    `namespace` or `branch`. InputError naming file:line for the first problem."""
    path = Path(path)
    kind = entity_format(path)
    if kind == "jsonl":
        return EntityFile(path, kind, _jsonl_entities(path, limit))
    try:
        scopes = ontology.parse_scopes(alias_scopes)
    except ValueError as err:
        raise InputError(path, str(err), hint="alias scopes are EXACT, RELATED, NARROW, BROAD") from None
    vocabulary = ontology.read_ctd(path, limit) if kind == "ctd" else ontology.read_obo(path, limit, obo_types)
    entities: Dict[str, CustomEntity] = {}
    for concept in vocabulary.concepts.values():
        if UNSAFE.search(concept.id) or concept.id != concept.id.strip() or " " in concept.id:
            raise InputError(path, f"id {concept.id!r} has spaces, tabs or line breaks", line=concept.line)
        entities[concept.id] = CustomEntity(
            concept.id,
            concept.name,
            concept.aliases(scopes),
            concept.definition,
            [concept.type],
            None,
            concept.line,
            list(concept.alt_ids),
            list(concept.parents),
        )
    return EntityFile(path, kind, entities, vocabulary)


def read_entities(path: PathLike, limit: int = 0) -> Dict[str, CustomEntity]:
    """id -> entity, in file order (the first `limit` entities if given), of a JSONL, CTD TSV or OBO file (see
    `load_entities`); InputError naming file:line for bad JSON, a missing id or name, a duplicate id or a field of
    the wrong type."""
    return load_entities(path, limit).entities


def _jsonl_entities(path: Path, limit: int = 0) -> Dict[str, CustomEntity]:
    entities: Dict[str, CustomEntity] = {}
    for number, value in _jsonl(path, limit):
        record = _object(path, number, value, "an entity")
        entity_id = _identifier(path, number, record.get("id"), "id")
        _foreign_keys(path, number, record)
        if entity_id in entities:
            raise InputError(
                path, f"duplicate id {entity_id!r} (first at line {entities[entity_id].line})", line=number
            )
        name = record.get("name")
        if isinstance(name, dict):
            raise InputError(
                path,
                f"entity {entity_id!r}: 'name' is a map (Wikidata style), got {_short(name)}: this format wants one "
                "string",
                line=number,
                hint='e.g. "name": "Acme Corporation"',
            )
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
    """The mention files of a path: the file itself, or a directory's *.jsonl and *.spacy files and its PubTator
    files (named *.txt or *.pubtator, also .gz, and starting with a `PMID|t|` line) in name order."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "does not exist", hint="check the custom_mentions var / the mentions path")
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.is_file()
            and (p.suffix in MENTION_SUFFIXES or (pubtator.has_pubtator_name(p) and pubtator.is_pubtator(p)))
        )
        if not files:
            raise InputError(path, "holds no *.jsonl, *.spacy or PubTator (*.txt, *.pubtator) mention files")
        return files
    return [path]


def mention_format(path: PathLike) -> str:
    """`spacy` (by the name), `pubtator` (by the first line) or `jsonl`."""
    path = Path(path)
    if path.suffix == ".spacy":
        return "spacy"
    if path.suffix != ".jsonl" and pubtator.is_pubtator(path):
        return "pubtator"
    return "jsonl"


def read_mentions(
    paths: Union[PathLike, Sequence[PathLike]], limit: int = 0, tally: Optional[Tally] = None
) -> Iterator[MentionDoc]:
    """The annotated documents of the mention files (JSONL, .spacy or PubTator), validated; InputError naming
    file:line (or the doc number of a .spacy file) for bad JSON, a missing id or text, a repeated document id, a bad
    split, and spans out of range, blank or overlapping. `tally` collects the counts of the PubTator files (see
    `wikiel.sources.pubtator`; overlapping PubTator mentions dropped are `overlapping_dropped`)."""
    if isinstance(paths, (str, Path)):
        paths = mention_files(paths)
    seen: Dict[str, str] = {}
    for path in map(Path, paths):
        kind = mention_format(path)
        if kind == "spacy":
            docs = _spacy_docs(path, limit)
        elif kind == "pubtator":
            docs = _pubtator_docs(path, limit, tally if tally is not None else Tally())
        else:
            docs = _jsonl_docs(path, limit)
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
            raise InputError(path, f"'split' must be 'train', 'dev' or 'test' (or absent), got {split!r}", line=number)
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


def _pubtator_docs(path: Path, limit: int, tally: Tally) -> Iterator[MentionDoc]:
    """The documents of a PubTator file: its split from the file name, the first id of each mention with ids as the
    span id (all of them in `composite`), the first of overlapping mentions kept (by start, longest first)."""
    split = pubtator.split_of_name(path)
    tally.add("files")
    for number, doc in enumerate(pubtator.read_pubtator(path, tally), 1):
        if not doc.text.strip():
            tally.add("empty_documents", f"{path}:{doc.line}")
            continue
        spans: List[Tuple[int, int, str]] = []
        composite: Dict[Tuple[int, int], Tuple[str, ...]] = {}
        end = 0
        for mention in sorted(doc.mentions, key=lambda m: (m.start, -m.end)):
            if not mention.ids:
                continue
            if spans and mention.start < end:
                same = (mention.start, mention.end) == spans[-1][:2] and (
                    composite.get(spans[-1][:2], (spans[-1][2],)) == mention.ids
                )
                tally.add("duplicate_mentions" if same else "overlapping_dropped", f"{path}:{mention.line}")
                continue
            spans.append((mention.start, mention.end, mention.ids[0]))
            if len(mention.ids) > 1:
                composite[(mention.start, mention.end)] = mention.ids
            end = mention.end
        mention_doc = MentionDoc(doc.id, doc.text, spans, split, path, doc.line, f"document {doc.id!r}", composite)
        _check_spans(mention_doc)
        yield mention_doc
        if limit and number >= limit:
            return


def _check_spans(doc: MentionDoc) -> None:
    """Spans inside the text, not blank, not overlapping (sorted by start on return)."""
    n = len(doc.text)
    for start, end, entity_id in doc.spans:
        if not 0 <= start < end <= n:
            units = [
                u for u, width in ((UTF8, 1), (UTF16, 2)) if 0 <= start < end and end * width <= _units(doc.text, u)
            ]
            raise InputError(
                doc.path,
                f"{doc.where}: span [{start}, {end}) -> {entity_id!r} is out of range (the "
                f"text has {n} characters; offsets are 0-based, end exclusive)"
                + (
                    f"; it fits the text's {units[0]} length: the offsets look like {units[0]} offsets" if units else ""
                ),
                line=doc.line,
                hint="give character offsets (Python string indices, Unicode code points)" if units else "",
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


# ---- plausible spans -----------------------------------------------------------------------------------------
MID_WORD_START, MID_WORD_END, NOT_A_NAME = "starts inside a word", "ends inside a word", "is no name or alias of it"
UTF8, UTF16 = "UTF-8 byte", "UTF-16 code-unit"


def fold(text: str) -> str:
    """Case-, accent- and space-insensitive form of a surface text."""
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def _whole_words_in(part: str, whole: str) -> bool:
    return bool(part) and re.search(rf"(?<!\w){re.escape(part)}(?!\w)", whole) is not None


def entity_names(entity: CustomEntity) -> List[str]:
    """The folded names and aliases of an entity."""
    return [fold(name) for name in [entity.name, *entity.aliases]]


def surface_problem(text: str, start: int, end: int, names: Sequence[str]) -> Optional[str]:
    """Why text[start:end] is not a plausible surface form of an entity with these (folded) names, or None: it starts
    or ends inside a word, or it is neither a name, nor a whole-word part of one, nor a text holding one as whole
    words."""
    if start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        return MID_WORD_START
    if end < len(text) and text[end - 1].isalnum() and text[end].isalnum():
        return MID_WORD_END
    surface = fold(text[start:end])
    if any(surface == n or _whole_words_in(surface, n) or _whole_words_in(n, surface) for n in names):
        return None
    return NOT_A_NAME


def _reinterpreted(text: str, start: int, end: int, unit: str) -> Optional[Tuple[int, int]]:
    """The character span that [start, end) would be if they were UTF-8 byte or UTF-16 code-unit offsets (None when
    they cannot be, or when the text before `end` is all ASCII / BMP so that nothing differs)."""
    encoding, width = ("utf-8", 1) if unit == UTF8 else ("utf-16-le", 2)
    data = text.encode(encoding)
    if end * width > len(data):
        return None
    try:
        new_start = len(data[: start * width].decode(encoding))
        new_end = new_start + len(data[start * width : end * width].decode(encoding))
    except UnicodeDecodeError:
        return None
    return None if (new_start, new_end) == (start, end) else (new_start, new_end)


def offset_units(text: str, start: int, end: int, names: Sequence[str]) -> Optional[str]:
    """UTF8 or UTF16 when reading the offsets in those units gives a plausible span (the offsets look shifted)."""
    for unit in (UTF8, UTF16):
        span = _reinterpreted(text, start, end, unit)
        if span is not None and surface_problem(text, span[0], span[1], names) is None:
            return unit
    return None


@dataclass
class SpanCheck:
    """The implausible spans of a conversion: counts, the first places, and how many byte/UTF-16 offsets explain."""

    strict: bool = False
    counts: Counter = field(default_factory=Counter)
    examples: List[str] = field(default_factory=list)

    def check(self, doc: MentionDoc, spans: Sequence[Tuple[int, int, str]], entities: Dict[str, CustomEntity]) -> set:
        """The (start, end) of the document's implausible spans (InputError on the first with `strict`)."""
        bad = set()
        for start, end, entity_id in spans:
            entity = entities.get(entity_id)
            if entity is None:
                continue
            names = entity_names(entity)
            problem = surface_problem(doc.text, start, end, names)
            if problem is None:
                continue
            units = offset_units(doc.text, start, end, names)
            where = f"{doc.path}:{doc.line}" if doc.line else f"{doc.path} {doc.where}"
            surface = doc.text[start:end]
            what = f"{doc.where}: span [{start}, {end}) {surface!r} -> {entity_id!r} ({entity.name!r}) {problem}"
            shifted = f"; read as {units} offsets it is {_span_text(doc.text, start, end, units)!r}" if units else ""
            if self.strict:
                raise InputError(
                    doc.path,
                    f"{what}{shifted}",
                    line=doc.line,
                    hint=_units_hint(units)
                    if units
                    else "fix the offsets or the entity's aliases, or convert "
                    "without --strict-spans to have such spans reported and counted",
                )
            bad.add((start, end))
            self.counts["implausible_spans"] += 1
            self.counts[f"implausible_spans_{'mid_word' if problem != NOT_A_NAME else 'not_a_name'}"] += 1
            if units:
                self.counts[f"implausible_spans_{'utf8' if units == UTF8 else 'utf16'}_offsets"] += 1
            if len(self.examples) < EXAMPLES:
                self.examples.append(f"{where}: {what}{shifted}")
        return bad

    def note(self) -> Optional[str]:
        n = self.counts["implausible_spans"]
        if not n:
            return None
        text = (
            f"WARNING: {n:,} span(s) whose text is not a plausible surface form of its entity "
            f"({self.counts['implausible_spans_mid_word']:,} cut inside a word, "
            f"{self.counts['implausible_spans_not_a_name']:,} no name or alias of it), e.g. {self.examples[0]}"
        )
        for key, unit in (("implausible_spans_utf8_offsets", UTF8), ("implausible_spans_utf16_offsets", UTF16)):
            if self.counts[key]:
                text += (
                    f"; {self.counts[key]:,} of them become the entity's name when read as {unit} offsets: "
                    + _units_hint(unit)
                )
        return text + " (kept, reported in stats.json; --strict-spans makes this an error)"


def _units(text: str, unit: str) -> int:
    """The text's length in bytes (UTF-8) or bytes of UTF-16 (2 per code unit)."""
    return len(text.encode("utf-8" if unit == UTF8 else "utf-16-le"))


def _span_text(text: str, start: int, end: int, units: str) -> str:
    span = _reinterpreted(text, start, end, units)
    return text[span[0] : span[1]] if span else ""


def _units_hint(units: str) -> str:
    return (
        f"the offsets look like {units} offsets; give character offsets (Python string indices, Unicode code points), "
        "e.g. len(text.encode()[:start].decode())"
        if units == UTF8
        else f"the offsets look like {units} offsets (JavaScript/Java string indices); give character offsets "
        "(Python string indices, Unicode code points)"
    )


# ---- converting ----------------------------------------------------------------------------------------------
def doc_split(doc: MentionDoc, dev_percent: float, seed: int = defaults.SEED) -> str:
    """The document's own split, else the stable hash split of its id (the rule of Wikipedia titles)."""
    if doc.split:
        return doc.split
    return split_of(doc.id if seed == 0 else f"{seed}\t{doc.id}", dev_percent)


@writes_step("parse-wikidata")
def convert_entities(
    entities_path: PathLike,
    output_dir: PathLike,
    alias_scopes: str = defaults.ALIAS_SCOPES,
    obo_types: str = defaults.OBO_TYPES,
) -> dict:
    """`entities.jsonl`, an empty `subclass_of.tsv` and `stats.json` in `output_dir` (parse-wikidata's files), from a
    JSONL, CTD TSV or OBO entity file (`alias_scopes` and `obo_types`: see `load_entities`)."""
    entities_path, output_dir = Path(entities_path), Path(output_dir)
    stats = StepStats("parse-wikidata")
    entity_file = load_entities(entities_path, alias_scopes=alias_scopes, obo_types=obo_types)
    entities = entity_file.entities
    with atomic_open(output_dir / "entities.jsonl", "wb") as f:
        for entity_id in sorted(entities):
            e = entities[entity_id]
            record: Dict[str, Any] = {
                "qid": e.id,
                "title": e.id,
                "label": e.name,
                "description": e.description,
                "aliases": e.aliases,
                "types": [],
                "type": e.type,
            }
            if e.alt_ids:
                record["alt_ids"] = e.alt_ids
            if e.parents:
                record["parents"] = e.parents
            f.write(orjson.dumps(record) + b"\n")
    with atomic_open(output_dir / "subclass_of.tsv", "wb"):
        pass
    values = entities.values()
    stats["source"] = SOURCE
    stats["format"] = entity_file.format
    stats["entities"] = len(entities)
    stats["kept"] = len(entities)
    stats["with_description"] = sum(bool(e.description) for e in values)
    stats["with_types"] = sum(bool(e.types) for e in values)
    stats["with_frequency"] = sum(e.frequency is not None for e in values)
    stats["aliases"] = sum(len(e.aliases) for e in values)
    stats["types"] = dict(sorted(Counter(e.type for e in values).items()))
    if entity_file.vocabulary is not None:
        stats["vocabulary"] = entity_file.vocabulary.stats(ontology.parse_scopes(alias_scopes))
    stats["bytes_in"] = entities_path.stat().st_size
    stats["inputs"] = [str(entities_path)]
    return stats.write(output_dir / "stats.json")


def resolve_spans(
    doc: MentionDoc, entity_file: EntityFile, counts: Counter, unknown: Counter, strict: bool = False
) -> List[Tuple[int, int, str]]:
    """The document's spans with their ids resolved through the entity file. A composite span (several ids) gets
    the first id that resolves. `counts` gets `ids_<status>` for every id (all ids of a composite span),
    `composite_spans` and `composite_spans_unresolved`; a span that resolves to no entity keeps its (first) id,
    counted in `unknown`, or is an InputError with `strict`."""
    spans: List[Tuple[int, int, str]] = []
    for start, end, first in doc.spans:
        ids = doc.composite.get((start, end), (first,))
        chosen: Optional[str] = None
        statuses = []
        for raw in ids:
            resolved, status = entity_file.resolve(raw)
            counts[f"ids_{status}"] += 1
            statuses.append(status)
            if chosen is None and resolved is not None:
                chosen = resolved
        if len(ids) > 1:
            counts["composite_spans"] += 1
            counts["composite_spans_unresolved"] += chosen is None
        if chosen is None:
            if strict:
                if len(ids) > 1:
                    what = f"{', '.join(map(repr, ids))}, none of which is in"
                elif statuses[0] == "obsolete":
                    what = f"{ids[0]!r}, which is obsolete (without a replacement) in"
                else:
                    what = f"{ids[0]!r}, which is not in"
                raise InputError(
                    doc.path,
                    f"{doc.where}: span [{start}, {end}) links to {what} {entity_file.path}",
                    line=doc.line,
                    hint="add the entity, or convert without --strict",
                )
            unknown[ids[0]] += 1
            chosen = ids[0]
        spans.append((start, end, chosen))
    return spans


@writes_step("parse-wikipedia")
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
    strict_spans: bool = defaults.STRICT_SPANS,
) -> dict:
    """parse-wikipedia's files in `output_dir` from the annotated documents (and optional alias priors); test
    documents are read, resolved and counted but not written. Implausible spans (see `surface_problem`) are counted
    and reported, an error with `strict_spans`."""
    output_dir = Path(output_dir)
    stats = StepStats("parse-wikipedia")
    entity_file = load_entities(entities_path)
    entities = entity_file.entities
    files = mention_files(mentions) if isinstance(mentions, (str, Path)) else [Path(p) for p in mentions]
    counts: Counter = Counter({f"{split}_{what}": 0 for split in SPLITS for what in ("articles", "links")})
    links: Counter = Counter()  # (anchor, id) -> count, train documents and priors
    train_mentions: Counter = Counter()
    unknown: Counter = Counter()
    by_split: Dict[str, Counter] = {split: Counter() for split in SPLITS}
    tally = Tally()
    limits = {"train": max_train_articles, "dev": max_dev_articles}
    written = {"train": 0, "dev": 0}
    span_check = SpanCheck(strict_spans)
    with atomic_open(output_dir / "articles.jsonl", "wb") as out:
        for doc in read_mentions(files, tally=tally):
            split = doc_split(doc, dev_percent, seed)
            spans = resolve_spans(doc, entity_file, by_split[split], unknown, strict)
            implausible = set() if mention_format(doc.path) == "pubtator" else span_check.check(doc, spans, entities)
            counts[f"{split}_articles"] += 1
            counts[f"{split}_links"] += len(spans)
            if split == HELD_OUT:
                continue
            if split == "train":
                for start, end, entity_id in spans:
                    if entity_id not in entities:
                        continue
                    train_mentions[entity_id] += 1
                    anchor = " ".join(doc.text[start:end].split())
                    if (start, end) in implausible and surface_problem(doc.text, start, end, ()) != NOT_A_NAME:
                        counts["anchors_cut_inside_a_word"] += 1  # never an alias: `cme Co` is nobody's name
                    elif UNSAFE.search(anchor):
                        counts["anchors_not_tsv_safe"] += 1
                    else:
                        links[(anchor, entity_id)] += 1
            counts["articles"] += 1
            counts["links"] += len(spans)
            if not limits[split] or written[split] < limits[split]:
                written[split] += 1
                out.write(
                    orjson.dumps(
                        {
                            "id": doc.id,
                            "title": doc.id,
                            "split": split,
                            "text": doc.text,
                            "links": [list(span) for span in spans],
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
    total: Counter = sum(by_split.values(), Counter())
    notes = conversion_notes(entity_file, total, tally, counts, unknown)
    span_note = span_check.note()
    for line in notes + ([span_note] if span_note else []):
        print(line, file=sys.stderr)
    counts.update({"implausible_spans": 0, **span_check.counts})
    stats.counts.update(sorted(counts.items()))
    stats["implausible_span_examples"] = span_check.examples
    for key in ("redirects", "pages", "empty_pages", "other_namespace_pages"):
        stats[key] = 0
    stats["source"] = SOURCE
    stats["entity_format"] = entity_file.format
    stats["articles_written"] = sum(written.values())
    stats["held_out_articles"] = counts[f"{HELD_OUT}_articles"]
    stats["entities"] = len(entities)
    stats["entities_with_train_mentions"] = len(train_mentions)
    stats["unknown_id_spans"] = sum(unknown.values())
    stats["unknown_ids"] = len(unknown)
    stats["unknown_id_examples"] = sorted(unknown, key=lambda i: (-unknown[i], i))[:EXAMPLES]
    stats["id_status"] = {
        split: _statuses(c) for split, c in [*by_split.items(), ("all", total)] if _statuses(c) or split == "all"
    }
    stats["composite_spans"] = total["composite_spans"]
    stats["composite_spans_unresolved"] = total["composite_spans_unresolved"]
    if tally.counts:
        stats["pubtator"] = dict(sorted(tally.counts.items()))
        stats["pubtator_examples"] = dict(sorted(tally.examples.items()))
    stats["anchor_target_pairs"] = len(links)
    stats["distinct_targets"] = len(entities)
    stats["input_bytes"] = sum(p.stat().st_size for p in files)
    stats["inputs"] = [str(p) for p in files] + ([str(priors)] if priors is not None else [])
    return stats.write(output_dir / "stats.json")


def documents_of_split(
    entities: Union[PathLike, EntityFile],
    mentions: Union[PathLike, Sequence[PathLike]],
    split: str = HELD_OUT,
    dev_percent: float = defaults.DEV_PERCENT,
    seed: int = defaults.SEED,
) -> Iterator[MentionDoc]:
    """The documents of one split (the held-out `test` ones by default) with their span ids resolved as the
    conversion resolves them; unresolvable spans keep their (first) id, as in articles.jsonl."""
    entity_file = entities if isinstance(entities, EntityFile) else load_entities(entities)
    files = mention_files(mentions) if isinstance(mentions, (str, Path)) else [Path(p) for p in mentions]
    for doc in read_mentions(files):
        if doc_split(doc, dev_percent, seed) == split:
            doc.spans = resolve_spans(doc, entity_file, Counter(), Counter())
            yield doc


def _statuses(counts: Counter) -> Dict[str, int]:
    """status -> ids, in the order of ontology.STATUSES, from `ids_<status>` counts."""
    return {s: counts[f"ids_{s}"] for s in ontology.STATUSES if counts[f"ids_{s}"]}


PUBTATOR_NOTES = {  # count -> what it means, in the notes of a conversion and in the check step's summary
    "duplicate_documents": "repeated document(s) skipped (identical copies)",
    "surface_mismatch": "mention(s) whose surface text differs from the text at its offsets only in spaces, "
    "punctuation or case (offsets kept)",
    "realigned": "mention(s) moved to the nearest copy of their surface text",
    "offset_mismatch": "mention(s) dropped: the surface text is not at or near the offsets",
    "overlapping_dropped": "overlapping mention(s) dropped",
    "duplicate_mentions": "repeated mention(s) dropped",
    "mentions_without_id": "mention(s) without an id (not links)",
    "relations": "relation line(s) skipped",
    "empty_documents": "document(s) without text skipped",
}


def pubtator_notes(tally: Tally) -> List[str]:
    """One phrase per PubTator wart found, with its first places."""
    notes = []
    for key, what in PUBTATOR_NOTES.items():
        if tally.counts[key]:
            places = tally.examples.get(key, [])
            notes.append(f"{tally.counts[key]:,} {what}" + (f" (e.g. {', '.join(places[:2])})" if places else ""))
    return notes


def resolution_summary(statuses: Dict[str, int], composite: int = 0, composite_unresolved: int = 0) -> str:
    """`5,259 ids: 99 exact, 4,801 prefixed, 239 alternative, 120 missing; 115 composite spans (1 unresolved)`"""
    text = f"{sum(statuses.values()):,} ids: " + ", ".join(f"{n:,} {s}" for s, n in statuses.items())
    if composite:
        text += f"; {composite:,} composite spans ({composite_unresolved:,} with no resolvable id)"
    return text


def conversion_notes(
    entity_file: EntityFile, total: Counter, tally: Tally, counts: Counter, unknown: Counter
) -> List[str]:
    """The lines a conversion prints: held-out documents, id resolution, PubTator warts, unknown ids."""
    lines = []
    if counts[f"{HELD_OUT}_articles"]:
        lines.append(
            f"NOTE: {counts[f'{HELD_OUT}_articles']:,} {HELD_OUT} document(s) ({counts[f'{HELD_OUT}_links']:,} spans) "
            "held out: counted, not written (an evaluation reads them from the mention files)"
        )
    statuses = _statuses(total)
    if entity_file.vocabulary is not None or total["composite_spans"]:
        lines.append(
            f"NOTE: {resolution_summary(statuses, total['composite_spans'], total['composite_spans_unresolved'])} "
            f"(resolved through {entity_file.path})"
        )
    notes = pubtator_notes(tally)
    if notes:
        lines.append(f"NOTE: PubTator: {'; '.join(notes)}")
    if unknown:
        examples = ", ".join(repr(i) for i, _ in unknown.most_common(5))
        lines.append(
            f"WARNING: {sum(unknown.values()):,} span(s) link to {len(unknown):,} id(s) not in {entity_file.path} "
            f"(e.g. {examples}); kept as links to unknown entities (--strict makes this an error)"
        )
    return lines


def _require_content(counts: Counter, files: List[Path], dev_percent: float) -> None:
    where = ", ".join(map(str, files))
    if not counts["articles"]:
        held_out = counts[f"{HELD_OUT}_articles"]
        raise OutputError(
            f"no documents in {where}"
            + (f" but {held_out} held-out {HELD_OUT} document(s)" if held_out else "")
            + ": check the custom_mentions var"
        )
    for split in TRAINED_SPLITS:
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
    alias_scopes: str = defaults.ALIAS_SCOPES,
    obo_types: str = defaults.OBO_TYPES,
    strict_spans: bool = defaults.STRICT_SPANS,
) -> Dict[str, dict]:
    """Write `wikidata/` and `wikipedia/` under `output_corpus_dir` (e.g. `corpus`); returns both stats."""
    out = Path(output_corpus_dir)
    return {
        "wikidata": convert_entities(entities, out / "wikidata", alias_scopes, obo_types),
        "wikipedia": convert_mentions(
            entities, mentions, out / "wikipedia", priors, dev_percent, seed, lang, strict, strict_spans=strict_spans
        ),
    }


# ---- checking (fetch and check steps) ------------------------------------------------------------------------
def summarize_entity_file(path: PathLike, limit: int = 0) -> Tuple[EntityFile, str]:
    """The entity file and a one-line summary of it."""
    entity_file = load_entities(path, limit)
    values = entity_file.entities.values()
    n_types = len({e.type for e in values})
    text = (
        f"{len(values):,} entities{' (first ones)' if limit else ''}, "
        f"{sum(bool(e.description) for e in values):,} with a description, {n_types} types, "
        f"{sum(len(e.aliases) for e in values):,} aliases"
    )
    vocabulary = entity_file.vocabulary
    if vocabulary is not None:
        text += (
            f"; {'CTD TSV' if vocabulary.format == 'ctd' else 'OBO'}: "
            f"{sum(len(c.synonyms) for c in vocabulary.concepts.values()):,} synonyms, "
            f"{len(vocabulary.alternatives):,} alternative ids, {len(vocabulary.obsolete):,} obsolete ids"
        )
    return entity_file, text


def summarize_entities(path: PathLike, limit: int = 0) -> Tuple[Dict[str, CustomEntity], str]:
    entity_file, text = summarize_entity_file(path, limit)
    return entity_file.entities, text


def summarize_mentions(paths: Sequence[PathLike], entities: Optional[EntityFile] = None, limit: int = 0) -> str:
    """A one-line summary of the mention files: documents, spans, the test documents held out; with the entity
    file, how the ids resolve and which do not; PubTator warts."""
    docs = spans = 0
    splits: Counter = Counter()
    unknown: Counter = Counter()
    resolution: Counter = Counter()
    tally = Tally()
    span_check = SpanCheck()
    for doc in read_mentions(paths, limit, tally):
        docs += 1
        spans += len(doc.spans)
        splits[doc.split or "unsplit"] += 1
        if entities is not None:
            resolved = resolve_spans(doc, entities, resolution, unknown)
            if mention_format(doc.path) != "pubtator":
                span_check.check(doc, resolved, entities.entities)
    if not docs:
        raise InputError(Path(paths[0]), "holds no documents")
    text = f"{docs:,} documents{' (first ones)' if limit else ''}, {spans:,} spans"
    if splits[HELD_OUT] or set(splits) - {"unsplit"}:
        text += " (" + ", ".join(f"{splits[s]:,} {s}" for s in (*SPLITS, "unsplit") if splits[s]) + ")"
    if splits[HELD_OUT]:
        text += f", the {HELD_OUT} documents held out"
    statuses = _statuses(resolution)
    if entities is not None and (set(statuses) - {EXACT, MISSING} or resolution["composite_spans"]):
        text += "; " + resolution_summary(
            statuses, resolution["composite_spans"], resolution["composite_spans_unresolved"]
        )
    notes = pubtator_notes(tally)
    if notes:
        text += "; PubTator: " + "; ".join(notes)
    span_note = span_check.note()
    if span_note:
        text += "; " + span_note
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
    summarize_entity_file(entities, QUICK_RECORDS)
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def inputs_from_manifest(
    manifest_path: PathLike, reads: Sequence[str] = ("entities", "mentions", "priors")
) -> CustomInputs:
    """The custom KB files of a manifest written by `fetch.use_custom`; InputError if one is gone or, for the kinds
    of file the step `reads`, its size or SHA-256 is not the manifest's (edited since the fetch step)."""
    manifest_path = Path(manifest_path)
    manifest = read_json(manifest_path)

    def existing(entry: Dict[str, Any], kind: str) -> Path:
        path = resolve_entry(manifest_path, entry)
        if not path.is_file():
            raise InputError(manifest_path, f"the custom KB file {path} does not exist", hint="re-run the fetch step")
        if kind not in reads:
            return path
        size = path.stat().st_size
        if size != entry.get("bytes") or ("sha256" in entry and _sha256(path) != entry["sha256"]):
            what = f"{size:,} bytes, the manifest says {entry.get('bytes'):,}" if size != entry.get("bytes") else ""
            raise InputError(
                path,
                f"changed since fetch ({what or 'its SHA-256 differs from the manifest'})",
                hint="run `spacy project run fetch` (or `wikiel fetch`), then this step again",
            )
        return path

    try:
        return CustomInputs(
            existing(manifest["entities"], "entities"),
            [existing(e, "mentions") for e in manifest["mentions"]],
            existing(manifest["priors"], "priors") if manifest.get("priors") else None,
        )
    except (KeyError, TypeError) as err:
        raise InputError(manifest_path, f"is not a custom KB manifest ({err!r})", hint="re-run the fetch step") from err
