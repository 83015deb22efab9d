"""Candidate recall: how often each candidate generator proposes the gold entity of a mention, and how fast.

For every gold entity span of the docs (`doc.ents`, gold QID in `kb_id_`) whose QID is in the KB, each generator's
candidates are ranked by prior descending (ties by entity id); recall@k is the share of mentions whose gold entity
is among the first k, oracle the share with the gold entity anywhere among the candidates (the ceiling of any
disambiguation). Mentions whose gold QID is not in the KB are only counted.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, Iterable, List, Mapping, Sequence

from spacy.kb import Candidate, KnowledgeBase
from spacy.tokens import Doc, Span

from wikiel.pipeline.candidates import GENERATORS

Generator = Callable[[KnowledgeBase, Span], Iterable[Candidate]]


def ranked_ids(candidates: Iterable[Candidate]) -> List[str]:
    """Entity ids of the candidates, prior descending, ties by entity id."""
    return [c.entity_ for c in sorted(candidates, key=lambda c: (-c.prior_prob, c.entity_))]


def gold_mentions(kb: KnowledgeBase, docs: Iterable[Doc]) -> tuple:
    """(in-KB gold spans, their QIDs, number of spans whose QID is not in the KB, number without a QID)."""
    entities = set(kb.get_entity_strings())
    spans: List[Span] = []
    golds: List[str] = []
    not_in_kb = no_id = 0
    for doc in docs:
        for ent in doc.ents:
            if not ent.kb_id_:
                no_id += 1
            elif ent.kb_id_ in entities:
                spans.append(ent)
                golds.append(ent.kb_id_)
            else:
                not_in_kb += 1
    return spans, golds, not_in_kb, no_id


def candidate_recall(
    kb: KnowledgeBase,
    docs: Iterable[Doc],
    generators: Mapping[str, Generator] = GENERATORS,
    ks: Sequence[int] = (1, 5, 10),
) -> dict:
    """Recall@k, oracle recall, mean number of candidates, share of mentions without any candidate and
    microseconds per mention of each generator over the in-KB gold mentions of `docs`.

    Lazily built indexes are kept out of `us_per_mention`: each generator is first called on the first mention
    and on a made-up mention no alias matches (fuzzy builds its trigram index on its first miss), timed together
    as `first_call_seconds`; then every mention is timed."""
    spans, golds, not_in_kb, no_id = gold_mentions(kb, docs)
    n = len(spans)
    warm_up = [spans[0], Doc(spans[0].doc.vocab, words=["Qxzvwq", "Jkqzx"])[0:2]] if spans else []
    result: dict = {"mentions": n, "not_in_kb": not_in_kb, "without_kb_id": no_id, "ks": list(ks), "generators": {}}
    for name, generate in generators.items():
        start = time.perf_counter()
        for span in warm_up:
            list(generate(kb, span))
        first_call = time.perf_counter() - start
        hits = {k: 0 for k in ks}
        oracle = no_candidates = total_candidates = 0
        elapsed = 0.0
        for span, gold in zip(spans, golds):
            start = time.perf_counter()
            candidates = list(generate(kb, span))
            elapsed += time.perf_counter() - start
            ids = ranked_ids(candidates)
            total_candidates += len(ids)
            no_candidates += not ids
            if gold in ids:
                oracle += 1
                rank = ids.index(gold)
                for k in ks:
                    hits[k] += rank < k
        row: Dict[str, float] = {f"recall@{k}": _share(hits[k], n) for k in ks}
        row.update(
            {
                "oracle": _share(oracle, n),
                "mean_candidates": round(total_candidates / n, 2) if n else 0.0,
                "no_candidates": _share(no_candidates, n),
                "us_per_mention": round(elapsed / n * 1e6, 1) if n else 0.0,
                "first_call_seconds": round(first_call, 3),
            }
        )
        result["generators"][name] = row
    return result


def _share(count: int, n: int) -> float:
    return round(count / n, 4) if n else 0.0


def recall_markdown(result: dict) -> str:
    """One row per generator: recall@k, oracle, mean candidates, share without candidates, speed."""
    ks = result["ks"]
    head = (
        ["generator"]
        + [f"recall@{k}" for k in ks]
        + ["oracle", "mean candidates", "no candidate", "µs / mention", "first call (s)"]
    )
    lines = [
        f"Candidate recall on {result['mentions']} in-KB gold mentions "
        f"({result['not_in_kb']} with a gold entity not in the KB left out).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, row in result["generators"].items():
        cells = (
            [name]
            + [f"{row[f'recall@{k}']:.3f}" for k in ks]
            + [
                f"{row['oracle']:.3f}",
                f"{row['mean_candidates']:.2f}",
                f"{row['no_candidates']:.3f}",
                f"{row['us_per_mention']:.1f}",
                f"{row['first_call_seconds']:.2f}",
            ]
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
