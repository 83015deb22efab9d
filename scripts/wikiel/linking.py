"""Functions registered in spaCy's registry: candidate generation for the EntityLinker and a KB loader.

Importing this module registers them; training and evaluation import it, and `--code scripts/wikiel_code.py`
does the same for plain `spacy` commands.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator, List

from spacy.kb import Candidate, KnowledgeBase
from spacy.tokens import Span
from spacy.util import registry


def case_variants(text: str) -> Iterator[str]:
    """The mention as written, then with its first letter upper-cased, then title-cased: Wikipedia's own
    first-letter rule and the most common capitalisation differences of anchors."""
    seen = set()
    for variant in (text, text[:1].upper() + text[1:], text.title()):
        if variant and variant not in seen:
            seen.add(variant)
            yield variant


def exact_then_case_candidates(kb: KnowledgeBase, span: Span) -> List[Candidate]:
    """Candidates of the first variant of the mention text that the KB knows as an alias."""
    for variant in case_variants(span.text):
        candidates = kb.get_alias_candidates(variant)
        if candidates:
            return list(candidates)
    return []


@registry.misc("wikiel.CaseCandidates.v1")
def make_case_candidates() -> Callable[[KnowledgeBase, Span], Iterable[Candidate]]:
    """Exact alias lookup with a first-letter / title-case fallback."""
    return exact_then_case_candidates


@registry.misc("wikiel.CaseCandidatesBatch.v1")
def make_case_candidates_batch() -> Callable[[KnowledgeBase, Iterable[Span]], Iterable[Iterable[Candidate]]]:
    def get_batch(kb: KnowledgeBase, spans: Iterable[Span]) -> List[List[Candidate]]:
        return [exact_then_case_candidates(kb, span) for span in spans]

    return get_batch
