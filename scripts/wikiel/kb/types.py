"""Coarse entity types: real Wikidata classes that anchor each type, and the P31/P279 walk that finds them."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

# Ordered: an entity gets the first type any of its P31 classes reaches through P279 (subclass of).
# Every id is the real Wikidata item of that class.
COARSE_TYPES: Dict[str, Sequence[str]] = {
    "PERSON": ("Q5",),  # human
    "COUNTRY": ("Q6256", "Q3624078", "Q7275"),  # country, sovereign state, state
    "CITY": ("Q515", "Q486972"),  # city, human settlement
    "SPORTS_TEAM": ("Q12973014", "Q847017"),  # sports team, sports club
    "EDUCATION": ("Q2385804",),  # educational institution
    "COMPANY": ("Q4830453", "Q783794"),  # business, company
    "ORGANIZATION": ("Q43229",),  # organization
    "FILM": ("Q11424",),  # film
    "BOOK": ("Q7725634", "Q571"),  # literary work, book
    "MUSIC": ("Q482994", "Q7366", "Q2188189"),  # album, song, musical work
    "EVENT": ("Q1656682", "Q1190554"),  # event, occurrence
    "TAXON": ("Q16521",),  # taxon
    "CHEMICAL": ("Q11173", "Q79529"),  # chemical compound, chemical substance
    "DISEASE": ("Q12136",),  # disease
    "PRODUCT": ("Q2424752",),  # product
    "LOCATION": ("Q2221906", "Q618123", "Q82794"),  # geographic location, geographical feature, region
}
OTHER = "OTHER"
MAX_DEPTH = 6


class TypeMapper:
    """Maps a list of P31 classes to a coarse type by walking P279 edges breadth-first."""

    def __init__(self, subclass_of: Dict[str, List[str]], max_depth: int = MAX_DEPTH):
        self.parents = subclass_of
        self.max_depth = max_depth
        self.anchor = {qid: name for name, qids in COARSE_TYPES.items() for qid in qids}
        self.order = {name: i for i, name in enumerate(COARSE_TYPES)}
        self._cache: Dict[str, Optional[str]] = {}

    @classmethod
    def from_tsv(cls, path: Path) -> TypeMapper:
        parents: Dict[str, List[str]] = defaultdict(list)
        if Path(path).exists():
            with open(path, encoding="utf8") as f:
                for line in f:
                    child, _, parent = line.rstrip("\n").partition("\t")
                    if parent:
                        parents[child].append(parent)
        return cls(dict(parents))

    def class_type(self, qid: str) -> Optional[str]:
        """The best (earliest in COARSE_TYPES) type reachable from one class, or None."""
        if qid in self._cache:
            return self._cache[qid]
        best: Optional[str] = None
        seen = {qid}
        frontier = [qid]
        for _ in range(self.max_depth + 1):
            for node in frontier:
                name = self.anchor.get(node)
                if name is not None and (best is None or self.order[name] < self.order[best]):
                    best = name
            if best is not None:
                break
            nxt = []
            for node in frontier:
                for parent in self.parents.get(node, ()):
                    if parent not in seen:
                        seen.add(parent)
                        nxt.append(parent)
            frontier = nxt
            if not frontier:
                break
        self._cache[qid] = best
        return best

    def entity_type(self, p31: Iterable[str]) -> str:
        """Coarse type of an entity from its P31 (instance of) classes, in claim order."""
        for qid in p31:
            found = self.class_type(qid)
            if found is not None:
                return found
        return OTHER
