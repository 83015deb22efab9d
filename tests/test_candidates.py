"""Candidate generators beyond exact match (normalised keys, trigram fuzzy lookup) and their recall@k."""

from pathlib import Path

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


@pytest.mark.parametrize(
    "get_candidates,get_candidates_batch",
    [
        ({"@misc": "wikiel.FuzzyCandidates.v1"}, {"@misc": "wikiel.FuzzyCandidatesBatch.v1"}),
        (
            {"@misc": "wikiel.TfidfCandidates.v1", "max_aliases": 20, "min_candidates": 10, "synonyms": True},
            {"@misc": "wikiel.TfidfCandidatesBatch.v1", "max_aliases": 20, "min_candidates": 10, "synonyms": True},
        ),
    ],
)
def test_entity_linker_runs_with_fuzzy_candidates(get_candidates, get_candidates_batch):
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    el = nlp.add_pipe(
        "entity_linker",
        config={
            "entity_vector_length": DIM,
            "incl_prior": True,
            "get_candidates": get_candidates,
            "get_candidates_batch": get_candidates_batch,
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
    expected = {
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
    # (no neighbour has a cosine >= 0.4 in so small a KB: the TF-IDF generators find what fuzzy finds)
    expected["tfidf"] = expected["tfidf-fill"] = expected["fuzzy"]
    assert rows == expected
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


# ---- token keys, TF-IDF neighbours, learned word substitutions (wikiel.TfidfCandidates.v1) --------------------


@pytest.mark.parametrize(
    "text,key",
    [
        ("Cancer of the Breast", "breast cancer"),  # stop words dropped, words sorted
        ("breast cancers", "breast cancer"),  # plural
        ("Neoplasms, Breast", "breast neoplasm"),  # inverted MeSH form
        ("Tumours", "tumor"),  # British spelling and plural
        ("Haemophilia A", "a hemophilia"),  # "a" is kept: Hepatitis A is not hepatitis
        ("TNF-α", "alpha tnf"),
        ("TNF alpha", "alpha tnf"),
        ("µ-opioid", "mu opioid"),  # micro sign -> mu
        ("type1 diabetes", "1 diabete type"),
        ("Diabetes Mellitus, Type 1", "1 diabete mellitus type"),
        ("X-linked", "linked x"),
        ("Alzheimer's disease", "alzheimer disease"),
        ("CHDs", "chd"),
        ("stenoses", "stenose"),
        ("stenosis", "stenose"),
        ("the and of", ""),
        ("!!!", ""),
    ],
)
def test_token_key(text, key):
    assert linking.token_key(text) == key


@pytest.mark.parametrize(
    "word,stem",
    [
        ("deficiencies", "deficiency"),
        ("syndromes", "syndrome"),
        ("abscesses", "abscess"),
        ("reflexes", "reflex"),
        ("dermatitides", "dermatitis"),
        ("arthritis", "arthritis"),
        ("mellitus", "mellitus"),
        ("vertebrae", "vertebra"),
        ("tumour", "tumor"),
        ("oedema", "edema"),
        ("eyes", "eye"),
        ("toes", "toes"),
        ("ms", "ms"),
    ],
)
def test_stem_word(word, stem):
    assert linking.stem_word(word) == stem


def word_grams(key):
    """Reference: trigrams of each word of a key padded with spaces on its own (no trigram spans two words)."""
    return {p[i : i + 3] for w in key.split() for p in [f" {w} "] for i in range(len(p) - 2)}


def test_word_trigrams_do_not_depend_on_word_order():
    def codes(key):
        return set(linking._trigram_codes(f"\x00{key}\x00", words=True)[0].tolist())

    assert codes("breast cancer") == codes("cancer breast") != codes("breastcancer")
    expected = {sum(ord(c) << shift for c, shift in zip(g, (42, 21, 0))) for g in word_grams("breast cancer")}
    assert codes("breast cancer") == expected
    codes, key_ids = linking._trigram_codes("\x00ab c\x00d\x00", words=True)
    grams = sorted(
        (k, "".join(chr((int(code) >> shift) & 0x1FFFFF) for shift in (42, 21, 0))) for code, k in zip(codes, key_ids)
    )
    assert grams == [(0, " ab"), (0, " c "), (0, "ab "), (1, " d ")]


@pytest.mark.parametrize("words,key_function", [(True, linking.token_key), (False, normalize_key)])
def test_tfidf_search_is_exact_against_brute_force(words, key_function):
    rng = np.random.default_rng(1)
    syllables = ["ka", "ri", "to", "men", "sa", "lo", "ber", "un", "ic", "ha", "ne", "st"]
    aliases = sorted(
        {
            " ".join("".join(rng.choice(syllables, rng.integers(1, 4))) for _ in range(rng.integers(1, 4)))
            for _ in range(500)
        }
    )
    keys_index = linking.NormalizedIndex(aliases, key_function)
    index = linking.NgramIndex(keys_index, chunk_keys=64, words=words, weighted=True)
    keys = [keys_index.key(i) for i in range(keys_index.n_keys)]

    def grams(key):
        return word_grams(key) if words else {f"\x00{key}\x00"[i : i + 3] for i in range(len(key))}

    key_grams = [grams(k) for k in keys]
    df: dict = {}
    for gs in key_grams:
        for g in gs:
            df[g] = df.get(g, 0) + 1

    def idf(g):
        return np.log((1 + len(keys)) / (1 + df.get(g, 0))) + 1

    norms = [np.sqrt(sum(idf(g) ** 2 for g in gs)) for gs in key_grams]
    assert np.allclose(norms, index.key_norms)
    for query in ["karito", "menlo ber", "stic", "hane sa", "ka", "bermen unic", "zzz ka", "ber menlo"]:
        q = key_function(query)
        q_grams = grams(q)
        q_norm = np.sqrt(sum(idf(g) ** 2 for g in q_grams))
        cosines = [sum(idf(g) ** 2 for g in q_grams & gs) / (q_norm * n) for gs, n in zip(key_grams, norms)]
        for s, limit in [(0.4, 10), (0.2, 30), (0.7, 3)]:
            expected = sorted((-c, i) for i, c in enumerate(cosines) if c >= s - 1e-9)[:limit]
            got = index.search_cosine(q, s, limit)
            assert [i for _, i in expected] == [i for i, _ in got]  # ties by key id
            assert [-c for c, _ in expected] == pytest.approx([c for _, c in got])
    assert index.search_cosine("", 0.4, 10) == [] and index.search_cosine("qqqq", 0.4, 10) == []
    with pytest.raises(ValueError):
        linking.NgramIndex(keys_index).search_cosine("karito")


BIO = {  # entity: aliases (one entity each, prior 1.0)
    "D1": ["Breast Neoplasms", "Breast Cancer", "Cancer of the Breast"],
    "D2": ["Lung Neoplasms", "Lung Cancer"],
    "D3": ["Kidney Neoplasms", "Kidney Cancer", "Renal Cancer"],
    "D4": ["Prostatic Neoplasms"],
    "D5": ["Breast Cyst", "Cyst of Breast"],
    "D6": ["TNF-α deficiency"],
    "D7": ["Colon Tumor", "Colon Growth"],  # tumor / growth: 2 entities only, not learned
    "D8": ["Skin Tumor", "Skin Growth"],
    "D9": ["Diabetes type 1", "Diabetes type 2"],  # numbers are never learned
    "D10": ["Dwarfism type 1", "Dwarfism type 2"],
    "D11": ["Ataxia type 1", "Ataxia type 2"],
}


def make_bio_kb():
    kb = InMemoryLookupKB(spacy.blank("en").vocab, entity_vector_length=DIM)
    for i, (qid, aliases) in enumerate(BIO.items()):
        kb.add_entity(qid, 10 + i, [float(i), 1.0, 0.5, -1.0])
        for alias in aliases:
            kb.add_alias(alias, [qid], [1.0])
    kb.add_alias("Lung Growth", ["D2", "D8"], [0.5, 0.5])
    return kb


def test_word_substitutions_learned_from_the_kb():
    kb = make_bio_kb()
    index = kb_index(kb)
    learned = linking.WordSubstitutions(kb, index.tokens)
    # cancer / neoplasm: D1, D2, D3 (3 entities); kidney / renal: 1; tumor / growth: 2; 1 / 2: never (a number)
    assert learned.substitutes == {"cancer": ("neoplasm",), "neoplasm": ("cancer",)} and learned.n_pairs == 1
    assert list(learned.variants("cancer prostatic")) == ["neoplasm prostatic"]
    assert list(learned.variants("breast cyst")) == []
    more = linking.WordSubstitutions(kb, index.tokens, min_entities=1)
    assert more.substitutes["kidney"] == ("renal",) and more.substitutes["tumor"] == ("growth",)
    assert more.substitutes["cancer"] == ("neoplasm", "growth")  # most entities first ("Lung Growth": 1)
    assert "1" not in more.substitutes and "2" not in more.substitutes  # numbers are never learned
    assert linking.WordSubstitutions(kb, index.tokens, min_entities=1, max_substitutes=1).substitutes["cancer"] == (
        "neoplasm",
    )
    assert index.synonyms(kb) is index.synonyms(kb)


def tfidf(**settings):
    return registry.misc.get("wikiel.TfidfCandidates.v1")(**settings)


def test_tfidf_candidates_token_keys_find_word_order_and_inflection():
    kb = make_bio_kb()
    for text in ["breast cancers", "cancers of the breast", "Neoplasm, Breast", "neoplasms of the breast"]:
        assert GENERATORS["normalized"](kb, span_of(text)) == [], text
        candidates = tfidf()(kb, span_of(text))
        assert ids(candidates)[:1] == ["D1"] and candidates[0].prior_prob == 1.0, text
    assert ids(tfidf()(kb, span_of("TNF alpha deficiencies"))) == ["D6"]
    assert ids(tfidf()(kb, span_of("Lung Cancer"))) == ["D2"]  # exact match first and alone


def test_tfidf_candidates_neighbours_and_learned_substitutions():
    kb = make_bio_kb()
    span = span_of("prostatic cancer")  # no token key: neighbours, and "neoplasm" for "cancer"
    with_synonyms = tfidf()(kb, span)
    without = tfidf(synonyms=False)(kb, span)
    assert ids(with_synonyms)[0] == ids(without)[0] == "D4"
    assert with_synonyms[0].prior_prob == pytest.approx(linking.SYNONYM_SIMILARITY)
    assert 0.4 <= without[0].prior_prob < linking.SYNONYM_SIMILARITY
    index = kb_index(kb)
    cosines = dict(index.token_ngrams.search_cosine("cancer prostatic", 0.4, 10))
    assert without[0].prior_prob == pytest.approx(cosines[index.tokens.find("neoplasm prostatic")])
    assert [c.prior_prob for c in with_synonyms] == sorted((c.prior_prob for c in with_synonyms), reverse=True)
    assert tfidf(min_similarity=0.99, synonyms=False)(kb, span) == []
    assert tfidf()(kb, span_of("Qwxz Plkj")) == []


def test_tfidf_candidates_min_candidates_adds_neighbours_after_the_exact_match():
    kb = make_bio_kb()
    span = span_of("Breast Cancer")
    assert ids(tfidf()(kb, span)) == ["D1"]
    filled = tfidf(min_candidates=3)(kb, span)
    assert len(filled) == 3 and ids(filled)[0] == "D1" and filled[0].prior_prob == 1.0
    assert all(c.prior_prob < 0.99 for c in filled[1:])
    assert [c.prior_prob for c in filled] == sorted((c.prior_prob for c in filled), reverse=True)
    assert len(set(ids(filled))) == 3
    # a token-key match is filled the same way; an exact match with enough entities is left alone
    assert ids(tfidf(min_candidates=2)(kb, span_of("cancer of the breasts")))[0] == "D1"
    assert ids(tfidf(min_candidates=2)(kb, span_of("Lung Growth"))) == ["D2", "D8"]
    batch = registry.misc.get("wikiel.TfidfCandidatesBatch.v1")(min_candidates=3)
    assert [ids(c) for c in batch(kb, [span, span_of("Qwxz")])] == [ids(filled), []]
    for bad in [{"min_similarity": 0.0}, {"max_aliases": 0}, {"min_candidates": -1}]:
        with pytest.raises(ValueError):
            tfidf(**bad)


def test_tfidf_candidates_are_deterministic_across_index_builds():
    first = make_bio_kb()
    second = make_bio_kb()
    for text in ["prostatic cancer", "breast", "neoplasm", "lung tumour", "Breast Cancer"]:
        a, b = tfidf(min_candidates=5)(first, span_of(text)), tfidf(min_candidates=5)(second, span_of(text))
        assert [(c.entity_, c.alias_, c.prior_prob) for c in a] == [(c.entity_, c.alias_, c.prior_prob) for c in b]


def test_biomedical_config_is_nel_cfg_with_tfidf_candidates():
    configs = Path(__file__).resolve().parents[1] / "configs"
    default = spacy.util.load_config(configs / "nel.cfg")
    biomedical = spacy.util.load_config(configs / "nel-biomedical.cfg")
    el = biomedical["components"]["entity_linker"]
    assert el["get_candidates"]["@misc"] == "wikiel.TfidfCandidates.v1"
    assert el["get_candidates_batch"]["@misc"] == "wikiel.TfidfCandidatesBatch.v1"
    assert {k: v for k, v in el["get_candidates"].items() if k != "@misc"} == {
        k: v for k, v in el["get_candidates_batch"].items() if k != "@misc"
    }
    resolved = registry.resolve({"a": el["get_candidates"], "b": el["get_candidates_batch"]})
    assert callable(resolved["a"]) and callable(resolved["b"])
    for config in (default, biomedical):
        for name in ("get_candidates", "get_candidates_batch"):
            del config["components"]["entity_linker"][name]
    assert default == biomedical  # nothing else differs
