"""Ontology files as a knowledge graph: a `Vocabulary` of concepts read from CTD's TSV vocabularies (MEDIC
`CTD_diseases.tsv.gz`, also `CTD_chemicals.tsv.gz`) or from OBO files (GO, HPO, Cell Ontology, UBERON, Disease
Ontology, ...), plain or gzip, and the resolution of the ids annotated corpora use.

CTD TSV: `#` comment lines, then one concept per line; the columns are named by the comment line after `# Fields:`
(MEDIC's nine when there is none): `DiseaseName, DiseaseID, AltDiseaseIDs, Definition, ParentIDs, TreeNumbers,
ParentTreeNumbers, Synonyms, SlimMappings`, lists joined by `|`. The type of a concept is its first SlimMappings value
(MEDIC's slim categories, e.g. `Cancer`, `Genetic disease (inborn)`), else the kind of the file (`Disease`,
`Chemical`). CTD synonyms carry no scope: they are RELATED, as an OBO synonym without one.

OBO (1.2/1.4 flat file): `[Term]` stanzas are read, `[Typedef]` and `[Instance]` stanzas skipped. Tags used: `id`,
`name`, `namespace`, `def: "text" [refs]`, `synonym: "text" EXACT|RELATED|NARROW|BROAD [TYPE] [refs]` (and the
OBO 1.0 `exact_synonym:`-style tags), `is_a: ID ! name`, `alt_id`, `is_obsolete: true`, `replaced_by`, `consider`;
`! comments` and trailing `{modifiers}` are dropped and backslash escapes (`\\"`, `\\n`, `\\W`, ...) undone. The type of
a concept is, with `types="namespace"` (the default), its `namespace` (GO: biological_process, molecular_function,
cellular_component), else the header's `default-namespace`, else its id prefix (`HP`); with `types="branch"`, the
name of its top-level branch: the ancestor right below a root along the first `is_a` parents (HPO: `Phenotypic
abnormality`, `Mode of inheritance`, ...). Terms without a name are skipped (counted); obsolete terms are not
concepts, their ids resolve through `replaced_by` (`consider` is kept, never followed: it is a suggestion).

Aliases: a concept's name and its synonyms whose scope is in `alias_scopes`, EXACT and RELATED by default
(`wikiel.defaults.ALIAS_SCOPES`); NARROW and BROAD synonyms are kept in the vocabulary but are not aliases, since a
narrower or broader term names another concept.

`Vocabulary.resolve(raw_id)` -> (primary id or None, status), status one of:
- `exact`: a concept's id;
- `prefixed`: a concept's id once given the vocabulary's prefix, or its prefix spelled as in the vocabulary
  (MEDIC: `D008661` -> `MESH:D008661`, `C535918` -> `MESH:C535918`; OBO: `HP_0001250` or `hp:0001250` ->
  `HP:0001250`); an id without a known prefix tries every prefix of the vocabulary's ids, most frequent first;
- `alternative`: an alternative id of a concept (MEDIC AltDiseaseIDs, OBO `alt_id`), also after prefixing; an
  alternative id several concepts share goes to the first of them in file order (`shared_alt_ids` counts them);
- `replaced`: an obsolete id whose `replaced_by` resolves to a concept;
- `obsolete`: an obsolete id without a usable replacement (None);
- `missing`: none of the above (None).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from wikiel import defaults
from wikiel.util import InputError, PathLike, text_lines

SCOPES = ("EXACT", "RELATED", "NARROW", "BROAD")
DEFAULT_SCOPE = "RELATED"  # an OBO synonym without a scope, and every CTD synonym
OLD_SYNONYM_TAGS = {f"{scope.lower()}_synonym": scope for scope in SCOPES}
STATUSES = ("exact", "prefixed", "alternative", "replaced", "obsolete", "missing")
RESOLVED = ("exact", "prefixed", "alternative", "replaced")
TYPE_BY = ("namespace", "branch")
MAX_REPLACEMENTS = 10  # replaced_by chains followed
# MEDIC's columns, used when a CTD file has no `# Fields:` line
CTD_FIELDS = [
    "DiseaseName",
    "DiseaseID",
    "AltDiseaseIDs",
    "Definition",
    "ParentIDs",
    "TreeNumbers",
    "ParentTreeNumbers",
    "Synonyms",
    "SlimMappings",
]
CTD_DEFAULT_TYPE = "Disease"
TRAILING_MODIFIERS = re.compile(r'\s+\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\}\s*$')
ESCAPES = {"n": " ", "t": " ", "W": " "}  # OBO escapes of whitespace: names and texts are one line here


def parse_scopes(scopes: str) -> Tuple[str, ...]:
    """`EXACT,RELATED` -> ("EXACT", "RELATED"); ValueError for an unknown scope."""
    out = tuple(s.strip().upper() for s in scopes.split(",") if s.strip())
    unknown = [s for s in out if s not in SCOPES]
    if unknown or not out:
        raise ValueError(f"synonym scopes must be a comma-separated subset of {', '.join(SCOPES)}, got {scopes!r}")
    return out


@dataclass
class Synonym:
    text: str
    scope: str  # EXACT, RELATED, NARROW or BROAD


@dataclass
class Concept:
    id: str
    name: str
    synonyms: List[Synonym]
    definition: str
    parents: List[str]  # is_a / ParentIDs
    alt_ids: List[str]
    type: str
    line: int

    def aliases(self, scopes: Sequence[str] = parse_scopes(defaults.ALIAS_SCOPES)) -> List[str]:
        """The synonyms of the given scopes, whitespace-normalised, without repeats or the name itself."""
        out: List[str] = []
        for synonym in self.synonyms:
            text = " ".join(synonym.text.split())
            if synonym.scope in scopes and text and text != self.name and text not in out:
                out.append(text)
        return out


@dataclass
class ObsoleteConcept:
    id: str
    name: str
    replaced_by: List[str]
    consider: List[str]
    line: int


@dataclass
class Vocabulary:
    path: Path
    format: str  # "ctd" or "obo"
    concepts: Dict[str, Concept]
    obsolete: Dict[str, ObsoleteConcept] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)  # what reading skipped or found (see stats())
    alternatives: Dict[str, str] = field(init=False)  # alternative id -> the first concept that has it
    prefixes: List[str] = field(init=False)  # id prefixes, primary ids' most frequent first

    def __post_init__(self) -> None:
        self.alternatives = {}
        shared = set()
        for concept in self.concepts.values():
            for alt in concept.alt_ids:
                if alt in self.concepts:
                    self.counts["alt_ids_also_primary"] += 1
                elif alt in self.alternatives:
                    shared.add(alt)
                else:
                    self.alternatives[alt] = concept.id
        self.counts["shared_alt_ids"] = len(shared)
        primary = Counter(_prefix(i) for i in self.concepts)
        other = Counter(_prefix(i) for i in [*self.alternatives, *self.obsolete])
        ordered = [p for p, _ in primary.most_common()] + [p for p, _ in other.most_common() if p not in primary]
        self.prefixes = [p for p in ordered if p]
        self._canonical = {p.lower(): p for p in reversed(self.prefixes)}

    def __len__(self) -> int:
        return len(self.concepts)

    def resolve(self, raw_id: str) -> Tuple[Optional[str], str]:
        """(primary id or None, status): see the module docstring."""
        raw_id = raw_id.strip()
        found = self._lookup(raw_id)
        if found is not None:
            return found
        obsolete = False
        for candidate in self._candidates(raw_id):
            found = self._lookup(candidate)
            if found is not None:
                primary, status = found
                if primary is not None:
                    return primary, "prefixed" if status == "exact" else status
                obsolete = True
        return None, "obsolete" if obsolete else "missing"

    def _lookup(self, raw_id: str, depth: int = 0) -> Optional[Tuple[Optional[str], str]]:
        if raw_id in self.concepts:
            return raw_id, "exact"
        if raw_id in self.alternatives:
            return self.alternatives[raw_id], "alternative"
        term = self.obsolete.get(raw_id)
        if term is None:
            return None
        if depth < MAX_REPLACEMENTS:
            for replacement in term.replaced_by:
                found = self._lookup(replacement, depth + 1)
                if found is not None and found[0] is not None:
                    return found[0], "replaced"
        return None, "obsolete"

    def _candidates(self, raw_id: str) -> Iterator[str]:
        """Other spellings of an id: its prefix as the vocabulary spells it (`hp:`, `HP_` -> `HP:`), or, for an id
        without a known prefix, each prefix of the vocabulary in front of it."""
        prefix, sep, rest = raw_id.partition(":")
        if not sep:
            prefix, sep, rest = raw_id.partition("_")
        canonical = self._canonical.get(prefix.lower()) if sep else None
        if canonical is not None:
            if f"{canonical}:{rest}" != raw_id:
                yield f"{canonical}:{rest}"
            return
        for p in self.prefixes:
            yield f"{p}:{raw_id}"

    def stats(self, scopes: Sequence[str] = parse_scopes(defaults.ALIAS_SCOPES)) -> Dict[str, object]:
        concepts = self.concepts.values()
        return {
            "format": self.format,
            "concepts": len(self.concepts),
            "synonyms": sum(len(c.synonyms) for c in concepts),
            "synonyms_by_scope": dict(sorted(Counter(s.scope for c in concepts for s in c.synonyms).items())),
            "alias_scopes": list(scopes),
            "aliases": sum(len(c.aliases(scopes)) for c in concepts),
            "with_definition": sum(bool(c.definition) for c in concepts),
            "alt_ids": len(self.alternatives),
            "is_a": sum(len(c.parents) for c in concepts),
            "obsolete": len(self.obsolete),
            "obsolete_with_replacement": sum(bool(t.replaced_by) for t in self.obsolete.values()),
            "prefixes": self.prefixes,
            "types": len({c.type for c in concepts}),
            **dict(sorted(self.counts.items())),
        }


def _prefix(concept_id: str) -> str:
    prefix, sep, _ = concept_id.partition(":")
    return prefix if sep else ""


def _lines(path: Path) -> Iterator[Tuple[int, str]]:
    return text_lines(path, "an ontology file", "check the custom_entities var / the entities path")


# ---- CTD -----------------------------------------------------------------------------------------------------------
def read_ctd(path: PathLike, limit: int = 0) -> Vocabulary:
    """A CTD vocabulary TSV (MEDIC `CTD_diseases.tsv[.gz]`, also `CTD_chemicals`): the first `limit` concepts if
    given. InputError naming file:line for a line with more columns than the header, a missing name or id, or a
    repeated id."""
    path = Path(path)
    fields = CTD_FIELDS
    columns = _ctd_columns(fields)
    concepts: Dict[str, Concept] = {}
    after_fields = False
    for number, line in _lines(path):
        if line.startswith("#"):
            comment = line[1:].strip()
            if after_fields and "\t" in comment:
                fields = [f.strip() for f in comment.split("\t")]
                columns = _ctd_columns(fields)
            after_fields = comment.rstrip(":").lower() == "fields"
            continue
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) > len(fields):
            raise InputError(path, f"{len(parts)} tab-separated columns, the header names {len(fields)}", line=number)
        record = dict(zip(fields, parts + [""] * (len(fields) - len(parts))))
        name, concept_id = " ".join(record[columns.name].split()), record[columns.id].strip()
        if not concept_id or not name:
            raise InputError(path, f"a concept without {'an id' if not concept_id else 'a name'}", line=number)
        if concept_id in concepts:
            raise InputError(
                path, f"duplicate id {concept_id!r} (first at line {concepts[concept_id].line})", line=number
            )
        slims = _listed(record, "SlimMappings")
        concepts[concept_id] = Concept(
            concept_id,
            name,
            [Synonym(s, DEFAULT_SCOPE) for s in _listed(record, "Synonyms")],
            " ".join(record.get("Definition", "").split()),
            _listed(record, "ParentIDs"),
            _listed(record, columns.alt),
            slims[0] if slims else columns.type,
            number,
        )
        if limit and len(concepts) >= limit:
            break
    if not concepts:
        raise InputError(path, "holds no concepts", hint="a CTD vocabulary TSV: `#` comments, then one line a concept")
    return Vocabulary(path, "ctd", concepts)


class CtdColumns(NamedTuple):
    name: str
    id: str
    alt: str  # "" when the file has no alternative ids
    type: str  # the type of concepts without a slim mapping


def _ctd_columns(fields: List[str]) -> CtdColumns:
    """The name, id and alternative-id columns of a CTD header, and the type of its concepts (`DiseaseName` ->
    `Disease`)."""
    name = fields[0]
    concept_id = next((f for f in fields if f.endswith("ID") and not f.startswith("Alt")), fields[1])
    alt = next((f for f in fields if f.startswith("Alt") and f.endswith("IDs")), "")
    kind = name[: -len("Name")] if name.endswith("Name") and len(name) > len("Name") else CTD_DEFAULT_TYPE
    return CtdColumns(name, concept_id, alt, kind)


def _listed(record: Dict[str, str], key: str) -> List[str]:
    """The `|`-joined values of a CTD column (none if the file has no such column)."""
    return [v.strip() for v in record.get(key, "").split("|") if v.strip()]


# ---- OBO -----------------------------------------------------------------------------------------------------------
def unescape(text: str) -> str:
    """OBO backslash escapes undone: `\\n`, `\\t` and `\\W` are spaces here, `\\x` is x."""
    if "\\" not in text:
        return text
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(ESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def strip_comment(value: str) -> str:
    """The value without its `! comment` (an unescaped `!` outside quotes) and trailing `{modifiers}`."""
    quoted = False
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "!" and not quoted:
            value = value[:i]
            break
        i += 1
    return TRAILING_MODIFIERS.sub("", value).strip()


def quoted(path: Path, number: int, value: str, tag: str) -> Tuple[str, str]:
    """(the unescaped text of a value's leading quoted string, the rest); InputError if there is none."""
    value = value.lstrip()
    if not value.startswith('"'):
        raise InputError(path, f"{tag}: expected a quoted text, got {value[:40]!r}", line=number)
    i = 1
    while i < len(value):
        if value[i] == "\\":
            i += 2
            continue
        if value[i] == '"':
            return " ".join(unescape(value[1:i]).split()), value[i + 1 :]
        i += 1
    raise InputError(path, f"{tag}: the quoted text is not closed", line=number, hint='escape quotes inside it as \\"')


def _first_token(value: str) -> str:
    value = strip_comment(value)
    return unescape(value.split()[0]) if value.split() else ""


def read_obo(path: PathLike, limit: int = 0, types: str = defaults.OBO_TYPES, default_type: str = "") -> Vocabulary:
    """The [Term] stanzas of an OBO file (plain or gzip): the first `limit` concepts if given; `types` is
    `namespace` or `branch` (module docstring). InputError naming file:line for a line that is not `tag: value` or a
    stanza header, a term without an id, a repeated id, a def or synonym without its quoted text."""
    path = Path(path)
    if types not in TYPE_BY:
        raise ValueError(f"types must be one of {', '.join(TYPE_BY)}, got {types!r}")
    header: Dict[str, str] = {}
    counts: Counter = Counter()
    concepts: Dict[str, Concept] = {}
    obsolete: Dict[str, ObsoleteConcept] = {}
    namespaces: Dict[str, str] = {}  # concept id -> its own namespace
    first_line: Dict[str, int] = {}
    stanza: Optional[str] = None
    tags: List[Tuple[str, str, int]] = []
    start = 0

    def finish() -> bool:
        """Add the stanza read; True once `limit` concepts are there."""
        if stanza != "Term":
            if stanza is not None:
                counts[f"{stanza.lower()}_stanzas_skipped"] += 1
            return False
        term = _term(path, start, tags)
        term_id = term["id"][0]
        if term_id in first_line:
            raise InputError(path, f"duplicate id {term_id!r} (first at line {first_line[term_id]})", line=start)
        first_line[term_id] = start
        name = term["name"][0] if term["name"] else ""
        if term["is_obsolete"] and term["is_obsolete"][0].lower() == "true":
            entry = ObsoleteConcept(term_id, name, term["replaced_by"], term["consider"], start)
            obsolete[term_id] = entry
            for alt in term["alt_id"]:
                obsolete.setdefault(alt, entry)
            return False
        if not name:
            counts["terms_without_name"] += 1
            return False
        if term["namespace"]:
            namespaces[term_id] = term["namespace"][0]
        concepts[term_id] = Concept(
            term_id,
            name,
            [Synonym(text, scope) for text, scope in term["synonyms"]],
            term["def"][0] if term["def"] else "",
            term["is_a"],
            term["alt_id"],
            "",
            start,
        )
        return bool(limit) and len(concepts) >= limit

    for number, line in _lines(path):
        line = line.strip()
        if not line or line.startswith("!"):
            continue
        if line.startswith("[") and line.endswith("]"):
            if finish():
                break
            stanza, tags, start = line[1:-1].strip(), [], number
            continue
        tag, sep, value = line.partition(":")
        if not sep or not tag.strip() or " " in tag.strip():
            raise InputError(path, f"expected 'tag: value' or a [Stanza] header, got {line[:60]!r}", line=number)
        if stanza is None:
            header.setdefault(tag.strip(), value.strip())
        else:
            tags.append((tag.strip(), value.strip(), number))
    else:
        finish()
    if not concepts:
        raise InputError(
            path, "holds no [Term] with an id and a name", hint="an OBO flat file (format-version: 1.2/1.4)"
        )
    fallback = header.get("default-namespace", "") or default_type
    for concept in concepts.values():
        concept.type = namespaces.get(concept.id) or fallback or _prefix(concept.id) or "OTHER"
    if types == "branch":
        for concept in concepts.values():
            concept.type = _branch(concept, concepts)
    return Vocabulary(path, "obo", concepts, obsolete, counts)


def _term(path: Path, start: int, tags: List[Tuple[str, str, int]]) -> Dict[str, list]:
    """The values of a [Term] stanza by tag (lists; `synonyms` as (text, scope) pairs)."""
    term: Dict[str, list] = {
        key: [] for key in ("id", "name", "namespace", "def", "is_a", "alt_id", "is_obsolete", "replaced_by")
    }
    term["consider"], term["synonyms"] = [], []
    for tag, value, number in tags:
        if tag in ("id", "alt_id", "is_a", "replaced_by", "consider", "is_obsolete", "namespace"):
            token = _first_token(value)
            if token:
                term[tag].append(token)
        elif tag == "name":
            name = " ".join(unescape(strip_comment(value)).split())
            if name:
                term["name"].append(name)
        elif tag == "def":
            term["def"].append(quoted(path, number, value, tag)[0])
        elif tag == "synonym" or tag in OLD_SYNONYM_TAGS:
            text, rest = quoted(path, number, value, tag)
            words = rest.split()
            scope = OLD_SYNONYM_TAGS.get(tag) or (words[0] if words and words[0] in SCOPES else DEFAULT_SCOPE)
            if text:
                term["synonyms"].append((text, scope))
    if not term["id"]:
        raise InputError(path, "a [Term] without an id", line=start)
    if len(term["id"]) > 1:
        raise InputError(path, f"a [Term] with {len(term['id'])} ids ({', '.join(term['id'])})", line=start)
    return term


def _branch(concept: Concept, concepts: Dict[str, Concept]) -> str:
    """The name of the concept's top-level branch: the ancestor right below a root along the first is_a parents
    that are concepts of the file (a root's own name for a root)."""
    path = [concept]
    seen = {concept.id}
    while True:
        parent = next((concepts[p] for p in path[-1].parents if p in concepts), None)
        if parent is None or parent.id in seen:
            break
        path.append(parent)
        seen.add(parent.id)
    return path[-2].name if len(path) > 1 else path[-1].name


def read_vocabulary(path: PathLike, kind: str, limit: int = 0, types: str = defaults.OBO_TYPES) -> Vocabulary:
    """`read_ctd` for kind `ctd`, `read_obo` for `obo`."""
    if kind == "ctd":
        return read_ctd(path, limit)
    if kind == "obo":
        return read_obo(path, limit, types)
    raise ValueError(f"unknown vocabulary kind {kind!r} (ctd or obo)")
