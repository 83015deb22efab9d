"""What linking task a generated world poses, without writing or parsing its dumps.

`link_baselines` draws links the way the article writer does (`World.sample_entity`, `World.anchor_for`), counts
the train links per entity and per (anchor, entity) pair, prunes with build-kb's own functions (`select_entities`,
`select_aliases`; labels and Wikidata aliases count as structured aliases) and scores the dev links by exact alias
lookup: the prior baseline (the candidate with the highest P(entity | alias) is the gold entity), the oracle (the gold
entity is a candidate) and how many KB entities and aliases survive. Deterministic for a given world and sizes; a
quick estimate of what the chain's evaluate step reports (it also has redirects, case and fuzzy lookups, and the
links of the infoboxes and tables), used to calibrate the world's shapes at sizes the chain takes hours for.

The wikipedia shape measured this way (seed 0, 7.5 links per entity as 0.375 articles per entity give, min_freq 3,
min_pair 3, max_entities 80% of the entities): prior / oracle / random 0.684 / 0.898 / 0.626 at 3K entities,
0.733 / 0.909 / 0.649 at 10K, 0.739 / 0.906 / 0.653 at 30K, 0.748 / 0.905 / 0.659 at 100K, 0.755 / 0.904 / 0.651 at
300K, with 2.7 KB aliases per KB entity. The chain itself at 20K entities (7,500 articles) gave 0.704 / 0.889 with
exact lookups and 0.733 / 0.921 with the pipeline's fuzzy candidates (17,667 KB entities, 47,500 aliases).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Dict, List, Set, Tuple

from wikiel.kb.build import KBEntity, PruneSettings, select_aliases, select_entities
from wikiel.synthetic.world import World


@dataclass
class Baselines:
    kb_entities: int
    kb_aliases: int
    dev_links: int
    prior: float
    oracle: float
    random: float
    anchor_kinds: Dict[str, int]  # dev anchors by kind: name, short, alias, variant


def anchor_kind(world: World, idx: int, anchor: str) -> str:
    e = world.entities[idx]
    if anchor == e.name:
        return "name"
    if anchor == e.short:
        return "short"
    return "alias" if anchor in e.aliases else "variant"


def sample_links(world: World, topics: List[int], per_topic: int) -> List[Tuple[str, int]]:
    """(anchor, entity index) of `per_topic` links from articles of each topic in `topics`, in that order."""
    out = []
    for topic in topics:
        for _ in range(per_topic):
            idx = world.sample_entity(topic)
            out.append((world.anchor_for(world.entities[idx]), idx))
    return out


def link_baselines(world: World, n_train: int, n_dev: int, settings: PruneSettings) -> Baselines:
    """Prior, oracle and random accuracy on `n_dev` dev links after a KB pruned from `n_train` train links."""
    n_topics = world.cfg.n_topics
    train = sample_links(world, [t % n_topics for t in range(n_topics * 10)], max(1, n_train // (n_topics * 10)))
    freq: Counter = Counter(idx for _, idx in train)
    candidates = (
        KBEntity(e.qid, e.title, e.name, e.description, e.aliases, [], freq[i])
        for i, e in enumerate(world.entities)
        if freq[i]
    )
    kept = {e.qid for e in select_entities(candidates, settings)}
    pair_counts: Dict[str, Dict[str, int]] = defaultdict(dict)
    for anchor, idx in train:
        qid = world.entities[idx].qid
        if qid in kept:
            pair_counts[anchor][qid] = pair_counts[anchor].get(qid, 0) + 1
    structured: Dict[str, Set[str]] = defaultdict(set)
    for e in world.entities:
        if e.qid in kept:
            for alias in [e.name, *e.aliases]:
                structured[alias].add(e.qid)
    aliases = select_aliases(
        pair_counts, structured, settings, labels=(e.name for e in world.entities if e.qid in kept)
    )
    dev = sample_links(world, [t % n_topics for t in range(n_topics)], max(1, n_dev // n_topics))
    prior = oracle = n = 0
    rand = 0.0
    kinds: Counter = Counter()
    for anchor, idx in dev:
        qid = world.entities[idx].qid
        if qid not in kept:
            continue
        n += 1
        kinds[anchor_kind(world, idx, anchor)] += 1
        pairs = aliases.get(anchor, [])
        ids = [q for q, _ in pairs]
        if qid in ids:
            oracle += 1
            prior += max(pairs, key=lambda p: p[1])[0] == qid
            rand += 1 / len(ids)
    share = (lambda c: round(c / n, 4)) if n else (lambda c: 0.0)
    return Baselines(len(kept), len(aliases), n, share(prior), share(oracle), share(rand), dict(kinds))
