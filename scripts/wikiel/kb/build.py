"""build-kb: Wikipedia titles -> QIDs, pruning, aliases with priors, entity vectors, spaCy KB.

Pruning follows spaCy's 2019 Wikidata KB and is configurable: keep entities with at least `min_freq` incoming links
(from train articles) and a description, the `max_entities` most linked; keep anchor->entity pairs seen at least
`min_pair` times; at most `max_per_alias` candidates per alias, `max_aliases` aliases, most frequent first. Aliases come
from anchor texts, Wikidata labels and aliases, and redirect titles; P(entity | alias) comes from link counts (a
structured alias that was never used as an anchor counts as `structured_count` links).

A custom knowledge graph (`wikiel.custom`) comes as the same files: its entity records carry their own `type` (used
instead of the P31 walk), titles are its case-sensitive ids, and `require_description` is off for it (`is_custom`):
an entity without a description is kept and gets the vector of its name.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np
import orjson
from spacy.kb import InMemoryLookupKB
from tqdm import tqdm

from wikiel import defaults
from wikiel.kb.tables import read_redirects, resolve
from wikiel.kb.types import TypeMapper
from wikiel.kb.vectors import description_vectors, load_vectors_nlp, train_floret_vectors
from wikiel.sources.custom import read_entities
from wikiel.util import InputError, OutputError, StepStats, atomic_open, atomic_path, require_inputs, writes_step

PARSE_WIKIDATA = "the parse-wikidata step"
PARSE_WIKIPEDIA = "the parse-wikipedia step"
PRIOR_TOLERANCE = 1e-5  # spaCy's KB refuses priors of an alias that sum to more than 1 + this


@dataclass
class PruneSettings:
    min_freq: int = defaults.MIN_FREQ
    min_pair: int = defaults.MIN_PAIR
    max_per_alias: int = defaults.MAX_PER_ALIAS
    max_entities: int = defaults.MAX_ENTITIES
    max_aliases: int = defaults.MAX_ALIASES
    structured_count: int = 1
    require_description: bool = True


@dataclass
class KBEntity:
    qid: str
    title: str
    label: str
    description: str
    aliases: List[str]
    types: List[str]
    freq: int
    type: str = ""


def resolved_inlinks(path: Path, redirects: Dict[str, str]) -> Dict[str, int]:
    counts: Dict[str, int] = defaultdict(int)
    for number, (target, count) in counted_rows(path, 2):
        counts[resolve(target, redirects)] += count_of(path, number, count)
    return counts


def counted_rows(path: Path, n_cols: int) -> Iterator[Tuple[int, List[str]]]:
    """(line number, fields) of the rows of a TSV table with `n_cols` fields (other rows are skipped, as `read_tsv`)."""
    with open(path, encoding="utf8") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) == n_cols:
                yield number, parts


def count_of(path: Path, number: int, text: str) -> int:
    """A count column as an int; InputError naming the file and line unless it is a non-negative integer (not NaN,
    inf or a fraction: the KB would take them as frequencies)."""
    if not (text.isascii() and text.isdigit()):
        raise InputError(
            path, f"the count {text!r} is not a non-negative integer", line=number, hint=f"rerun {PARSE_WIKIPEDIA}"
        )
    return int(text)


# ---- pruning (pure functions, tested on hand-made counts) ----------------------------------------------------
def select_entities(candidates: Iterable[KBEntity], settings: PruneSettings) -> List[KBEntity]:
    """Entities with >= min_freq links and (if required) a description; the max_entities most linked (ties by QID,
    then by id for ids that are not QIDs)."""
    kept = (
        e for e in candidates if e.freq >= settings.min_freq and (e.description or not settings.require_description)
    )
    top = heapq.nsmallest(settings.max_entities, kept, key=lambda e: (-e.freq, qid_number(e.qid), e.qid))
    return sorted(top, key=lambda e: (-e.freq, qid_number(e.qid), e.qid))


def qid_number(qid: str) -> int:
    return int(qid[1:]) if qid[1:].isdigit() else 0


def select_aliases(
    pair_counts: Dict[str, Dict[str, int]],
    structured: Dict[str, set],
    settings: PruneSettings,
    labels: Iterable[str] = (),
) -> Dict[str, List[Tuple[str, float]]]:
    """alias -> [(qid, prior)] sorted by prior, after the pair, per-alias and total-alias limits.

    `pair_counts[alias][qid]` are anchor link counts to KB entities; `structured[alias]` the QIDs that carry the alias
    as a label, Wikidata alias or redirect. Priors are count / all counts of the alias among kept pairs. At the
    max_aliases cap, `labels` (the KB entities' own labels) are kept before any other alias, then the most linked:
    a frequent anchor variant never pushes out the name an entity is known by.
    """
    label_set = set(labels)
    aliases: Dict[str, List[Tuple[str, int]]] = {}
    names = set(pair_counts) | set(structured)
    for alias in names:
        counts = dict(pair_counts.get(alias, {}))
        for qid in structured.get(alias, ()):
            if counts.get(qid, 0) < settings.structured_count:
                counts[qid] = max(counts.get(qid, 0), settings.structured_count)
        pairs = [(qid, c) for qid, c in counts.items() if c >= settings.min_pair or qid in structured.get(alias, ())]
        if not pairs:
            continue
        pairs.sort(key=lambda p: (-p[1], qid_number(p[0]), p[0]))
        aliases[alias] = pairs[: settings.max_per_alias]
    ranked = sorted(aliases, key=lambda a: (a not in label_set, -sum(c for _, c in aliases[a]), a))[
        : settings.max_aliases
    ]
    out: Dict[str, List[Tuple[str, float]]] = {}
    for alias in sorted(ranked):
        pairs = aliases[alias]
        total = sum(c for _, c in pairs)
        out[alias] = [(qid, c / total) for qid, c in pairs]
    return out


# ---- the stage -----------------------------------------------------------------------------------------------
def load_candidate_entities(entities_path: Path, inlinks: Dict[str, int]) -> Iterator[KBEntity]:
    """The entities of parse-wikidata's entities.jsonl that have incoming links. InputError naming the file and line
    for a record the KB cannot take: not a JSON object with a non-empty string id and title, or an id that came before
    (spaCy's KB crashes on a duplicate id)."""
    first_line: Dict[str, int] = {}
    with open(entities_path, "rb") as f:
        for number, line in enumerate(f, 1):
            r = _entity_record(entities_path, number, line)
            freq = inlinks.get(r["title"], 0)
            if freq:
                if r["qid"] in first_line:
                    raise InputError(
                        entities_path,
                        f"entity id {r['qid']!r} is already on line {first_line[r['qid']]}: the KB takes each id once",
                        line=number,
                        hint=f"rerun {PARSE_WIKIDATA} (it keeps the first of each id)",
                    )
                first_line[r["qid"]] = number
                yield KBEntity(
                    r["qid"],
                    r["title"],
                    r["label"] or r["title"],
                    r["description"],
                    r["aliases"],
                    r["types"],
                    freq,
                    r.get("type") or "",
                )


def _entity_record(path: Path, number: int, line: bytes) -> Dict[str, Any]:
    try:
        r = orjson.loads(line)
    except orjson.JSONDecodeError as err:
        raise InputError(path, f"is not a JSON line ({err})", line=number, hint=f"rerun {PARSE_WIKIDATA}") from err
    if not isinstance(r, dict):
        raise InputError(path, "is not a JSON object", line=number, hint=f"rerun {PARSE_WIKIDATA}")
    for key in ("qid", "title"):
        if not isinstance(r.get(key), str) or not r[key].strip():
            raise InputError(
                path, f"the entity has no {key} (a non-empty string)", line=number, hint=f"rerun {PARSE_WIKIDATA}"
            )
    for key in ("label", "description"):
        if not isinstance(r.get(key, ""), str):
            raise InputError(path, f"the entity's {key} is not a string", line=number, hint=f"rerun {PARSE_WIKIDATA}")
    for key in ("aliases", "types"):
        if not isinstance(r.get(key, []), list) or not all(isinstance(v, str) for v in r.get(key, [])):
            raise InputError(
                path, f"the entity's {key} are not a list of strings", line=number, hint=f"rerun {PARSE_WIKIDATA}"
            )
    r.setdefault("label", "")
    r.setdefault("description", "")
    r.setdefault("aliases", [])
    r.setdefault("types", [])
    return r


def validate_kb_inputs(entities: List[KBEntity], aliases: Dict[str, List[Tuple[str, float]]]) -> None:
    """What spaCy's InMemoryLookupKB would crash on (a segfault for a duplicate id) or take silently although it is
    wrong, checked before anything is handed to it (and before the vectors are trained): OutputError naming the
    entity or alias."""
    ids = set()
    for e in entities:
        if not e.qid or e.qid in ids:
            raise OutputError(f"entity id {e.qid!r} is empty or twice among the KB's entities: rerun {PARSE_WIKIDATA}")
        ids.add(e.qid)
        if not (math.isfinite(e.freq) and e.freq >= 0):
            raise OutputError(f"entity {e.qid!r} has the frequency {e.freq!r}: rerun {PARSE_WIKIPEDIA}")
    for alias, candidates in aliases.items():
        if not alias:
            raise OutputError("an empty alias: rerun the parse steps")
        priors = [p for _, p in candidates]
        if not all(math.isfinite(p) and 0 <= p <= 1 for p in priors) or sum(priors) > 1 + PRIOR_TOLERANCE:
            raise OutputError(f"alias {alias!r} has priors {priors} (each in [0, 1], together at most 1)")
        missing = [q for q, _ in candidates if q not in ids]
        if missing or len({q for q, _ in candidates}) != len(candidates):
            raise OutputError(f"alias {alias!r} has candidates that are not KB entities or come twice: {candidates}")


def validate_vectors(vectors: str, vecs: np.ndarray, n_entities: int) -> None:
    """The entity vectors the KB gets: one finite row per entity, of a non-zero width."""
    if vecs.ndim != 2 or vecs.shape[0] != n_entities or vecs.shape[1] == 0:
        raise InputError(
            vectors,
            f"gives entity vectors of shape {vecs.shape} for {n_entities} entities: the pipeline has no word vectors",
            hint="give --vectors a pipeline with vectors (e.g. en_core_web_lg), or leave it empty to train them",
        )
    if not np.isfinite(vecs).all():
        raise InputError(
            vectors,
            "gives entity vectors with NaN or infinite values: its vectors table is damaged",
            hint="rebuild the vectors (leave --vectors empty to train them) or use another pipeline",
        )


def collect_pairs(
    link_counts_path: Path, redirects: Dict[str, str], title_to_qid: Dict[str, str]
) -> Tuple[Dict[str, Dict[str, int]], int]:
    """Anchor -> QID -> count over anchor links whose (redirect-resolved) target is a KB entity."""
    pairs: Dict[str, Dict[str, int]] = defaultdict(dict)
    n_rows = 0
    for number, (anchor, target, count) in counted_rows(link_counts_path, 3):
        n_rows += 1
        n = count_of(link_counts_path, number, count)
        qid = title_to_qid.get(resolve(target, redirects))
        if qid is not None and anchor.strip():
            row = pairs[anchor]
            row[qid] = row.get(qid, 0) + n
    return pairs, n_rows


def structured_aliases(
    entities: List[KBEntity], redirects: Dict[str, str], title_to_qid: Dict[str, str]
) -> Dict[str, set]:
    out: Dict[str, set] = defaultdict(set)
    for e in entities:
        for alias in [e.label, *e.aliases]:
            if alias and "\t" not in alias:
                out[alias].add(e.qid)
    for source, target in redirects.items():
        qid = title_to_qid.get(resolve(target, redirects))
        if qid is not None:
            out[source].add(qid)
    return out


def is_custom(wikidata_dir: Path) -> bool:
    """True for the entities of a custom knowledge graph (`wikiel.custom`: its stats.json says source custom)."""
    try:
        return orjson.loads((Path(wikidata_dir) / "stats.json").read_bytes())["counts"].get("source") == "custom"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def merge_extra_entities(entities: List[KBEntity], path: Path) -> Tuple[List[KBEntity], Dict[str, int]]:
    """Add the entities of a custom JSONL file (`wikiel.custom` format) on top of the pruned ones, never pruned:
    an id already in the KB gets the file's aliases (and its description and type where the file gives them);
    a new id enters with count max(frequency, 1). Returns the entities (same order, new ones last by id)."""
    extra = read_entities(path)
    by_qid = {e.qid: e for e in entities}
    counts = {"extra_entities": len(extra), "extra_merged": 0, "extra_added": 0}
    added = []
    for ce in extra.values():
        e = by_qid.get(ce.id)
        if e is not None:
            e.aliases = list(dict.fromkeys([*e.aliases, ce.name, *ce.aliases]))
            e.description = ce.description or e.description
            e.type = ce.types[0] if ce.types else e.type
            counts["extra_merged"] += 1
        else:
            added.append(
                KBEntity(
                    ce.id, ce.id, ce.name, ce.description, list(ce.aliases), [], max(ce.frequency or 0, 1), ce.type
                )
            )
            counts["extra_added"] += 1
    return entities + sorted(added, key=lambda e: e.qid), counts


def _counted(entities: Iterator[KBEntity], linked: List[KBEntity], settings: PruneSettings) -> Iterator[KBEntity]:
    """The entities, unchanged; keeps in `linked` the first one that passes min_freq and the first that fails it (all
    the reason for an empty KB needs)."""
    passing = failing = False
    for e in entities:
        if e.freq >= settings.min_freq and not passing:
            linked.append(e)
            passing = True
        elif e.freq < settings.min_freq and not failing:
            linked.append(e)
            failing = True
        yield e


def _no_entity_reason(
    wikidata_dir: Path, wikipedia_dir: Path, n_linked_titles: int, linked: List[KBEntity], settings: PruneSettings
) -> str:
    """Why no entity passed pruning, naming the var to change: no train links at all, links to titles that are no
    entity of the Wikidata side, too few links (min_freq), or no description."""
    if n_linked_titles == 0:
        return (
            f"no links in the train articles of {wikipedia_dir} (its inlink_counts.tsv is empty), so no entity can "
            f"be counted: check that train articles exist (vars.dev_percent puts that share of articles in dev, "
            f"whose links never count) and that the dump's articles have links"
        )
    if not linked:
        return (
            f"none of the {n_linked_titles} titles linked from train articles in {wikipedia_dir} is an entity of "
            f"{wikidata_dir}: check that the Wikidata and Wikipedia dumps are of the same wiki (vars.lang)"
        )
    if all(e.freq < settings.min_freq for e in linked):
        return (
            f"no entity passed pruning (min_freq={settings.min_freq}: no entity has that many links from train "
            f"articles; {n_linked_titles} linked titles in {wikipedia_dir}): lower vars.min_freq"
        )
    return (
        f"no entity passed pruning: the entities with min_freq={settings.min_freq} links have no description "
        f"(required for Wikidata entities): lower vars.min_freq or check the Wikidata dump's descriptions "
        f"(vars.lang)"
    )


@writes_step("build-kb")
def build_kb(
    wikidata_dir: Path,
    wikipedia_dir: Path,
    output_dir: Path,
    settings: PruneSettings,
    lang: str = defaults.LANG,
    vectors: Optional[str] = None,
    vector_dim: int = defaults.VECTOR_DIM,
    vector_epochs: int = defaults.VECTOR_EPOCHS,
    max_vector_text_mb: int = defaults.MAX_VECTOR_TEXT_MB,
    vector_threads: int = defaults.VECTOR_THREADS,
    seed: int = defaults.SEED,
    extra_entities: Optional[Path] = None,
) -> dict:
    """Build the spaCy KB under `output_dir/kb`, plus `entities.jsonl`, the vectors pipeline and `stats.json`."""
    wikidata_dir, wikipedia_dir, output_dir = Path(wikidata_dir), Path(wikipedia_dir), Path(output_dir)
    require_inputs({f"parse-wikidata:{name}": wikidata_dir / name for name in ("entities.jsonl", "subclass_of.tsv")})
    require_inputs(
        {
            f"parse-wikipedia:{name}": wikipedia_dir / name
            for name in ("redirects.tsv", "inlink_counts.tsv", "link_counts.tsv", "articles.jsonl")
        }
    )
    stats = StepStats("build-kb")
    if is_custom(wikidata_dir):
        settings = dataclasses.replace(settings, require_description=False)
    stats["settings"] = settings.__dict__
    redirects = read_redirects(wikipedia_dir / "redirects.tsv")
    inlinks = resolved_inlinks(wikipedia_dir / "inlink_counts.tsv", redirects)
    stats["redirects"] = len(redirects)
    stats["linked_titles"] = len(inlinks)
    linked: List[KBEntity] = []  # the entities linked from train articles, counted for the message below
    entities = select_entities(
        tqdm(
            _counted(load_candidate_entities(wikidata_dir / "entities.jsonl", inlinks), linked, settings),
            desc="entities",
            unit=" ent",
            mininterval=2,
        ),
        settings,
    )
    if not entities:
        raise OutputError(_no_entity_reason(wikidata_dir, wikipedia_dir, len(inlinks), linked, settings))
    mapper = TypeMapper.from_tsv(wikidata_dir / "subclass_of.tsv")
    for e in entities:
        e.type = e.type or mapper.entity_type(e.types)  # a custom KB's records carry their type
    if extra_entities:
        entities, extra_counts = merge_extra_entities(entities, Path(extra_entities))
        stats.counts.update(extra_counts)
    title_to_qid = {e.title: e.qid for e in entities}
    pairs, n_rows = collect_pairs(wikipedia_dir / "link_counts.tsv", redirects, title_to_qid)
    aliases = select_aliases(
        pairs, structured_aliases(entities, redirects, title_to_qid), settings, labels=(e.label for e in entities)
    )
    stats["link_count_rows"] = n_rows
    if not aliases or not any(aliases.values()):
        raise OutputError(
            f"no alias passed pruning (min_pair={settings.min_pair}, max_per_alias={settings.max_per_alias}, "
            f"max_aliases={settings.max_aliases}): lower vars.min_pair"
        )
    validate_kb_inputs(entities, aliases)

    vectors_dir = output_dir / "vectors"
    if vectors is None:
        stats["vectors"] = train_floret_vectors(
            wikipedia_dir / "articles.jsonl",
            vectors_dir,
            lang,
            dim=vector_dim,
            epochs=vector_epochs,
            max_text_mb=max_vector_text_mb,
            threads=vector_threads,
            seed=seed,
        )
        vectors = str(vectors_dir)
    vec_nlp = load_vectors_nlp(vectors)
    vecs = description_vectors(
        vec_nlp, [e.description or e.label for e in tqdm(entities, desc="vectors", mininterval=2)]
    )
    validate_vectors(vectors, vecs, len(entities))
    kb = InMemoryLookupKB(vec_nlp.vocab, entity_vector_length=vecs.shape[1])
    kb.set_entities([e.qid for e in entities], [e.freq for e in entities], list(vecs))
    n_pairs = 0
    for alias, cands in aliases.items():
        kb.add_alias(alias, [q for q, _ in cands], [p for _, p in cands])
        n_pairs += len(cands)
    with atomic_path(output_dir / "kb") as tmp:
        kb.to_disk(tmp)
    with atomic_open(output_dir / "entities.jsonl", "wb") as f:
        for e in entities:
            f.write(
                orjson.dumps(
                    {
                        "qid": e.qid,
                        "title": e.title,
                        "label": e.label,
                        "description": e.description,
                        "type": e.type,
                        "freq": e.freq,
                    }
                )
                + b"\n"
            )
    type_counts: Dict[str, int] = defaultdict(int)
    for e in entities:
        type_counts[e.type] += 1
    stats["entities"] = len(entities)
    stats["aliases"] = len(aliases)
    stats["pairs"] = n_pairs
    stats["vector_length"] = int(vecs.shape[1])
    stats["types"] = dict(sorted(type_counts.items()))
    stats["kb_bytes"] = sum(p.stat().st_size for p in (output_dir / "kb").rglob("*") if p.is_file())
    # the floret vectors trained here are named relative to the output directory (written through a staging copy)
    stats["vectors_source"] = "vectors/ (trained here)" if vectors == str(output_dir / "vectors") else vectors
    return stats.write(output_dir / "stats.json")
