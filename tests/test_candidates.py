"""Candidate generators beyond exact match (normalised keys, trigram fuzzy lookup) and their recall@k."""

import numpy as np
import pytest
import spacy
from spacy.kb import Candidate, InMemoryLookupKB
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import registry

from wikiel.evaluation.recall import candidate_recall, recall_markdown
from wikiel.pipeline import candidates as linking
from wikiel.pipeline.candidates import GENERATORS, KBIndex, kb_index, normalize_key

DIM = 4
ENTITIES = {"Q1": 100, "Q2": 80, "Q3": 60, "Q4": 40, "Q5": 30, "Q6": 20, "Q7": 10}


def make_kb(vocab=None):
    kb = InMemoryLookupKB(vocab or spacy.blank("en").vocab, entity_vector_length=DIM)
    for i, (qid, freq) in enumerate(ENTITIES.items()):
        kb.add_entity(qid, freq, [float(i), 1.0, 0.5, -1.0])
    kb.add_alias("Machine Learning", ["Q1"], [1.0])
    kb.add_alias("Zürich", ["Q2", "Q6"], [0.8, 0.2])  # the city, then the insurer
    kb.add_alias("ZURICH", ["Q6", "Q2"], [0.9, 0.1])  # same normalised key "zurich"
    kb.add_alias("US", ["Q3", "Q4"], [0.9, 0.1])
    kb.add_alias("Albert Einstein", ["Q5"], [1.0])
    kb.add_alias("Albert Einstein Jr.", ["Q5", "Q7"], [0.5, 0.5])
    return kb


NLP = spacy.blank("en")


def span_of(text):
    doc = NLP.make_doc(text)
    return Span(doc, 0, len(doc), label="X")


def trigram_dice(a, b):
    """Reference: Dice of the sets of "\\x00"-padded character trigrams of two normalised keys."""

    def grams(s):
        p = "\x00" + s + "\x00"
        return {p[i : i + 3] for i in range(len(p) - 2)}

    ga, gb = grams(a), grams(b)
    return 2 * len(ga & gb) / (len(ga) + len(gb))


def ids(candidates):
    return [c.entity_ for c in candidates]


@pytest.mark.parametrize(
    "text,key",
    [
        ("Machine learning", "machine learning"),
        ("machine-learning", "machine learning"),
        ("Zürich", "zurich"),
        ("U.S.", "us"),
        ("O’Brien", "obrien"),
        ("  New\tYork  City ", "new york city"),
        ("Ærø", "aero"),
        ("Straße", "strasse"),
        ("!!!", ""),
    ],
)
def test_normalize_key(text, key):
    assert normalize_key(text) == key


def test_exact_and_case_generators_unchanged_and_registered():
    kb = make_kb()
    assert ids(GENERATORS["exact"](kb, span_of("US"))) == ["Q3", "Q4"]
    assert GENERATORS["exact"](kb, span_of("machine learning")) == []
    case = registry.misc.get("wikiel.CaseCandidates.v1")()
    assert ids(case(kb, span_of("machine learning"))) == ["Q1"]  # title case
    batch = registry.misc.get("wikiel.CaseCandidatesBatch.v1")()
    assert [ids(c) for c in batch(kb, [span_of("US"), span_of("Zurich")])] == [["Q3", "Q4"], []]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Machine learning", ["Q1"]),
        ("machine-learning", ["Q1"]),
        ("MACHINE  LEARNING", ["Q1"]),
        ("U.S.", ["Q3", "Q4"]),
        ("u.s", ["Q3", "Q4"]),
    ],
)
def test_normalized_finds_what_case_misses(text, expected):
    kb = make_kb()
    assert ids(GENERATORS["normalized"](kb, span_of(text))) == expected


def test_normalized_merges_aliases_one_candidate_per_entity_best_prior_first():
    kb = make_kb()
    assert GENERATORS["case"](kb, span_of("Zurich")) == []
    candidates = GENERATORS["normalized"](kb, span_of("Zurich"))
    # "Zürich" (Q2 0.8, Q6 0.2) and "ZURICH" (Q6 0.9, Q2 0.1) share the key: best prior per entity, sorted
    assert [(c.entity_, round(c.prior_prob, 4)) for c in candidates] == [("Q6", 0.9), ("Q2", 0.8)]
    assert {c.alias_ for c in candidates} == {"Zürich", "ZURICH"}
    for c in candidates:
        assert isinstance(c, Candidate)
        assert c.entity_freq == ENTITIES[c.entity_]
        assert list(c.entity_vector) == list(kb.get_vector(c.entity_))


def test_exact_match_wins_over_normalized_keys():
    kb = make_kb()
    kb.add_alias("Us", ["Q7"], [1.0])  # key "us", like "US": the exact alias alone answers
    assert ids(GENERATORS["normalized"](kb, span_of("Us"))) == ["Q7"]
    assert ids(GENERATORS["normalized"](kb, span_of("U.S."))) == ["Q7", "Q3", "Q4"]  # merged, prior first


def test_fuzzy_finds_a_misspelling_with_prior_scaled_by_similarity():
    kb = make_kb()
    span = span_of("Albert Einstien")
    assert GENERATORS["normalized"](kb, span) == []
    candidates = GENERATORS["fuzzy"](kb, span)
    d1 = trigram_dice("albert einstien", "albert einstein")
    d2 = trigram_dice("albert einstien", "albert einstein jr")
    assert 0.5 < d2 < d1 < 1
    # one candidate per entity: Q5 through both keys (best of d1 * 1.0 and d2 * 0.5), Q7 through the second
    assert [(c.entity_, c.alias_) for c in candidates] == [("Q5", "Albert Einstein"), ("Q7", "Albert Einstein Jr.")]
    assert candidates[0].prior_prob == pytest.approx(d1, abs=1e-6)
    assert candidates[1].prior_prob == pytest.approx(d2 * 0.5, abs=1e-6)
    for c in candidates:
        assert isinstance(c, Candidate) and c.kb is kb
        assert c.entity_freq == ENTITIES[c.entity_]
        assert list(c.entity_vector) == list(kb.get_vector(c.entity_))


def test_fuzzy_settings_min_similarity_and_max_aliases():
    kb = make_kb()
    span = span_of("Albert Einstien")
    make = registry.misc.get("wikiel.FuzzyCandidates.v1")
    assert ids(make()(kb, span)) == ["Q5", "Q7"]
    assert ids(make(max_aliases=1)(kb, span)) == ["Q5"]  # only the most similar key
    assert make(min_similarity=0.95)(kb, span) == []
    assert ids(make()(kb, span_of("Zurich"))) == ["Q6", "Q2"]  # the normalised chain comes first
    batch = registry.misc.get("wikiel.FuzzyCandidatesBatch.v1")(max_aliases=1)
    assert [ids(c) for c in batch(kb, [span, span_of("US")])] == [["Q5"], ["Q3", "Q4"]]
    normalized_batch = registry.misc.get("wikiel.NormalizedCandidatesBatch.v1")()
    assert [ids(c) for c in normalized_batch(kb, [span, span_of("U.S.")])] == [[], ["Q3", "Q4"]]
    with pytest.raises(ValueError):
        make(min_similarity=0.0)
    with pytest.raises(ValueError):
        make(max_aliases=0)


@pytest.mark.parametrize("text", ["Qwxz Plkj", "zz", "!!!", "12345"])
def test_garbage_finds_nothing(text):
    kb = make_kb()
    for name, generate in GENERATORS.items():
        assert generate(kb, span_of(text)) == [], name


def test_ngram_search_is_exact_against_brute_force():
    rng = np.random.default_rng(0)
    syllables = ["ka", "ri", "to", "men", "sa", "lo", "ber", "un", "ic", "ha", "ne", "st"]
    aliases = sorted(
        {
            " ".join("".join(rng.choice(syllables, rng.integers(1, 4))) for _ in range(rng.integers(1, 3)))
            for _ in range(400)
        }
    )
    index = KBIndex(aliases)
    keys = [index.normalized.key(i) for i in range(index.normalized.n_keys)]
    assert sorted(keys) == sorted({normalize_key(a) for a in aliases})
    for query in ["karito", "menlo ber", "stic", "hane sa", "ka", "bermen unic"]:
        for s, limit in [(0.5, 5), (0.3, 10), (0.8, 3)]:
            expected = sorted(
                (-trigram_dice(query, k), i) for i, k in enumerate(keys) if trigram_dice(query, k) >= s - 1e-9
            )[:limit]
            got = index.ngrams.search(query, s, limit)
            assert [(i, pytest.approx(-d)) for d, i in expected] == [(i, d) for i, d in got]


def test_index_is_cached_per_kb_and_rebuilt_when_aliases_change():
    kb = make_kb()
    first = kb_index(kb)
    assert kb_index(kb) is first
    assert kb_index(make_kb()) is not first
    kb.add_alias("Zürcher See", ["Q2"], [1.0])
    assert kb_index(kb) is not first
    assert ids(GENERATORS["normalized"](kb, span_of("zurcher see"))) == ["Q2"]
    assert len(linking._INDEXES) <= linking._MAX_CACHED_KBS


def test_entity_linker_runs_with_fuzzy_candidates():
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    el = nlp.add_pipe(
        "entity_linker",
        config={
            "entity_vector_length": DIM,
            "incl_prior": True,
            "get_candidates": {"@misc": "wikiel.FuzzyCandidates.v1"},
            "get_candidates_batch": {"@misc": "wikiel.FuzzyCandidatesBatch.v1"},
        },
    )
    el.set_kb(make_kb)
    ref = nlp.make_doc("Zurich is big .")
    ref.ents = [Span(ref, 0, 1, label="X", kb_id="Q2")]
    nlp.initialize(get_examples=lambda: [Example(nlp.make_doc(ref.text), ref)])
    doc = nlp.make_doc("Albert Einstien lived in Zurich and the U.S. .")
    doc.ents = [Span(doc, 0, 2, label="X"), Span(doc, 4, 5, label="X"), Span(doc, 7, 8, label="X")]
    doc = nlp(doc)
    linked = [e.kb_id_ for e in doc.ents]
    assert linked[0] in {"Q5", "Q7"} and linked[1] in {"Q2", "Q6"} and linked[2] in {"Q3", "Q4"}


def recall_docs(vocab):
    def doc(words, ents):
        d = Doc(vocab, words=words)
        d.ents = [Span(d, s, e, label="X", kb_id=q) for s, e, q in ents]
        return d

    return [
        doc(["machine", "Learning", "and", "US", "."], [(0, 2, "Q1"), (3, 4, "Q4")]),
        doc(["Zurich", ",", "U.S.", "and", "Albert", "Einstien"], [(0, 1, "Q2"), (2, 3, "Q3"), (4, 6, "Q5")]),
        doc(["Qwxz", "in", "Paris", "with", "Bob"], [(0, 1, "Q1"), (2, 3, "Q99"), (4, 5, "")]),
    ]


def test_candidate_recall_exact_numbers():
    kb = make_kb()
    result = candidate_recall(kb, recall_docs(kb.vocab))
    assert (result["mentions"], result["not_in_kb"], result["without_kb_id"]) == (6, 1, 1)
    rows = {
        name: {k: v for k, v in row.items() if k not in ("us_per_mention", "first_call_seconds")}
        for name, row in result["generators"].items()
    }
    # per mention (gold rank): machine Learning, US (Q4 after Q3), Zurich (Q2 after Q6), U.S., Albert Einstien, Qwxz
    assert rows == {
        "exact": {
            "recall@1": 0.0,
            "recall@5": 0.1667,
            "recall@10": 0.1667,
            "oracle": 0.1667,
            "mean_candidates": 0.33,
            "no_candidates": 0.8333,
        },
        "case": {
            "recall@1": 0.1667,
            "recall@5": 0.3333,
            "recall@10": 0.3333,
            "oracle": 0.3333,
            "mean_candidates": 0.5,
            "no_candidates": 0.6667,
        },
        "normalized": {
            "recall@1": 0.3333,
            "recall@5": 0.6667,
            "recall@10": 0.6667,
            "oracle": 0.6667,
            "mean_candidates": 1.17,
            "no_candidates": 0.3333,
        },
        "fuzzy": {
            "recall@1": 0.5,
            "recall@5": 0.8333,
            "recall@10": 0.8333,
            "oracle": 0.8333,
            "mean_candidates": 1.5,
            "no_candidates": 0.1667,
        },
    }
    for row in result["generators"].values():
        assert row["us_per_mention"] > 0 and row["first_call_seconds"] >= 0
    table = recall_markdown(result)
    assert table.splitlines()[0].startswith("Candidate recall on 6 in-KB gold mentions (1 ")
    assert len([line for line in table.splitlines() if line.startswith("| ")]) == 1 + len(GENERATORS)
    assert "| fuzzy | 0.500 | 0.833 | 0.833 | 0.833 | 1.50 | 0.167 |" in table


def test_candidate_recall_custom_generators_and_ks():
    kb = make_kb()
    result = candidate_recall(kb, recall_docs(kb.vocab), generators={"fuzzy": GENERATORS["fuzzy"]}, ks=(1, 2))
    assert list(result["generators"]) == ["fuzzy"]
    assert result["generators"]["fuzzy"]["recall@2"] == 0.8333
    empty = candidate_recall(kb, [])
    assert empty["mentions"] == 0 and empty["generators"]["fuzzy"]["recall@1"] == 0.0
