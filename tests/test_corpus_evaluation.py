"""evaluate-corpus: the metrics on hand-made gold and predictions (numbers worked out by hand), the readers' adapter,
a stand-in pipeline on a PubTator corpus, the CLI, the real NCBI-disease files, and a small trained linker."""

import json
from pathlib import Path

import numpy as np
import orjson
import pytest
import spacy
from spacy.kb import InMemoryLookupKB
from spacy.tokens import Span
from spacy.training import Example

import conftest
from conftest import SHARED_DATA, leftovers
from wikiel.evaluation.corpus import (
    GoldDoc,
    GoldMention,
    RankedMention,
    aligned_doc,
    corpus_name,
    correct_at,
    evaluate_corpus,
    gold_from_custom,
    gold_from_pubtator,
    is_ncbi_disease,
    load_vocabulary,
    markdown_report,
    normalize_id,
    read_corpus,
    score_end_to_end,
    summarize_gold_mentions,
)
from wikiel.pipeline.components import MENTION_LABEL, ScoredEntityLinker
from wikiel.sources.custom import MentionDoc
from wikiel.sources.pubtator import PubtatorDoc, PubtatorMention

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "custom_kb"
BIOMEDICAL = SHARED_DATA / "biomedical"


# ---- metrics on plain data ----------------------------------------------------------------------------------------
def test_correct_at_any_and_strict():
    assert correct_at(["A", "B"], ("A",), 1) and not correct_at(["B", "A"], ("A",), 1)
    assert correct_at(["B", "A"], ("A",), 2)
    # several gold ids: any of them (BioSyn's rule), strict: all of them in the first k
    assert correct_at(["C", "X"], ("A", "C"), 1) and not correct_at(["C", "X"], ("A", "C"), 1, strict=True)
    assert correct_at(["C", "A"], ("A", "C"), 2, strict=True)
    assert not correct_at(["A"], (), 1) and not correct_at(["A"], (), 1, strict=True)
    assert not correct_at([], ("A",), 5)


def ranked(ids, cls, ranking, by_prior=None, top=None, in_kb=True, pipeline=None):
    return RankedMention(
        GoldMention(0, 1, tuple(ids), cls),
        list(ranking),
        list(ranking if by_prior is None else by_prior),
        top,
        in_kb,
        dict(pipeline or {}),
    )


def test_gold_mention_accuracy_by_hand():
    rows = [
        # right at 1; the prior alone ranks it second
        ranked(["A"], "SpecificDisease", ["A", "B"], ["B", "A"], 0.9, pipeline={"as_built": "A", "w": "B"}),
        # the gold id only sixth: wrong at 1 and 5, found by recall@10
        ranked(["C"], "SpecificDisease", ["B", "D", "E", "F", "G", "C"], top=0.8),
        # a composite: any id right at 1, all ids only by 5 in the second one
        ranked(["A", "C"], "CompositeMention", ["C", "X"], ["X", "C"], 0.3, pipeline={"as_built": "A", "w": "A"}),
        ranked(["A", "C"], "CompositeMention", ["C", "A"], ["A", "C"], 0.6),
        # gold id not in the KB, no candidates
        ranked(["Z"], "Modifier", [], in_kb=False),
        # an annotation without an id never counts as right
        ranked([], "DiseaseClass", ["A"], top=0.95, in_kb=False),
    ]
    for r in rows:
        r.pipeline = {"as_built": r.pipeline.get("as_built", ""), "without_abbreviations": r.pipeline.get("w", "")}
    s = summarize_gold_mentions(rows, nil_threshold=0.5)
    assert (s["mentions"], s["in_kb"], s["not_in_kb"], s["multi_id"], s["without_id"]) == (6, 4, 2, 2, 1)
    assert s["accuracy@1"] == s["accuracy@5"] == 0.5  # rows 1, 3, 4
    assert s["strict_accuracy@1"] == 0.1667 and s["strict_accuracy@5"] == 0.3333  # row 1; rows 1 and 4
    assert s["in_kb_accuracy@1"] == 0.75  # 3 of the 4 in-KB mentions
    assert s["accuracy@1_nil_threshold"] == 0.3333  # row 3 scores 0.3 < 0.5
    assert s["pipeline_accuracy"] == {"as_built": 0.3333, "without_abbreviations": 0.1667}
    assert s["candidates"] == {
        "recall@1": 0.1667,  # row 4
        "recall@5": 0.5,  # rows 1, 3, 4
        "recall@10": 0.6667,  # and row 2
        "oracle": 0.6667,
        "mean_candidates": 2.17,  # (2 + 6 + 2 + 2 + 0 + 1) / 6
        "no_candidates": 0.1667,
    }
    assert s["multi_id_mentions"] == {
        "mentions": 2,
        "accuracy@1": 1.0,
        "accuracy@5": 1.0,
        "strict_accuracy@1": 0.0,
        "strict_accuracy@5": 0.5,
    }
    assert list(s["by_class"]) == ["SpecificDisease", "DiseaseClass", "Modifier", "CompositeMention"]
    assert s["by_class"]["SpecificDisease"]["accuracy@1"] == 0.5
    assert s["by_class"]["CompositeMention"]["accuracy@1"] == 1.0
    assert s["by_class"]["CompositeMention"]["strict_accuracy@1"] == 0.0
    assert s["by_class"]["Modifier"]["mentions"] == 1 and s["by_class"]["Modifier"]["accuracy@5"] == 0.0


def gold(start, end, ids, cls):
    return GoldMention(start, end, tuple(ids), cls)


def e2e_case():
    text = "x" * 100
    docs = [
        GoldDoc(
            "d1",
            text,
            [
                gold(0, 5, ["A"], "SpecificDisease"),
                gold(10, 20, ["B", "C"], "CompositeMention"),
                gold(30, 35, ["D"], "Modifier"),
                gold(40, 45, ["A"], "SpecificDisease"),
            ],
        ),
        GoldDoc("d2", text, [gold(0, 4, ["A"], "SpecificDisease")]),
        GoldDoc("d3", text, [gold(0, 3, ["Q"], "DiseaseClass")]),
    ]
    predictions = [
        [
            (0, 5, "A"),  # right
            (10, 20, "C"),  # right: one of the composite's ids
            (30, 36, "D"),  # span one character too long: wrong at mention level, right per document
            (50, 55, "NIL"),  # not a prediction; a detected span
            (40, 45, "E"),  # right span, wrong id
        ],
        [(0, 4, "A"), (6, 9, "B")],  # right; an id the document does not have
        [],
    ]
    return docs, predictions


def test_end_to_end_strict_and_per_document_by_hand():
    docs, predictions = e2e_case()
    s = score_end_to_end(docs, predictions, in_kb=lambda kb_id: kb_id != "Q")
    # mention level: 6 linked predictions, 3 right, 6 gold mentions
    assert s["mention"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "predicted": 6,
        "gold": 6,
        "correct": 3,
        "gold_in_kb": 5,
        "correct_in_kb": 3,
        "in_kb_recall": 0.6,
    }
    # per document: {A,C,D,E} vs {A,B,C,D} -> 3; {A,B} vs {A} -> 1; {} vs {Q} -> 0
    assert s["document"] == {
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
        "predicted": 6,
        "gold": 6,
        "correct": 4,
    }
    # spans only (the NIL span counts): 5 + 2 predicted, 4 + 1 + 1 gold, 3 + 1 right
    assert s["detection"]["predicted"] == 7 and s["detection"]["gold"] == 6 and s["detection"]["correct"] == 4
    assert s["nil_spans"] == 1
    assert s["by_class"] == {
        "SpecificDisease": {"gold": 3, "correct": 2, "recall": 0.6667},
        "DiseaseClass": {"gold": 1, "correct": 0, "recall": 0.0},
        "Modifier": {"gold": 1, "correct": 0, "recall": 0.0},
        "CompositeMention": {"gold": 1, "correct": 1, "recall": 1.0},
    }
    assert "in_kb_recall" not in score_end_to_end(docs, predictions)["mention"]


def test_end_to_end_edge_cases():
    text = "abcdefghij"
    # two gold mentions on one span: one prediction matches one of them only
    twice = [GoldDoc("d", text, [gold(0, 3, ["A"], ""), gold(0, 3, ["A"], "")])]
    s = score_end_to_end(twice, [[(0, 3, "A")]])
    assert (s["mention"]["correct"], s["mention"]["gold"]) == (1, 2)
    assert list(s["by_class"]) == ["(none)"]
    # only NIL and unlinked spans: nothing predicted, precision 0 by convention, nothing found per document
    s = score_end_to_end(twice, [[(0, 3, "NIL"), (4, 6, "")]])
    assert s["mention"]["predicted"] == 0 and s["mention"]["precision"] == 0.0 and s["nil_spans"] == 2
    assert s["document"]["correct"] == 0 and s["detection"]["correct"] == 1
    with pytest.raises(ValueError, match="1 prediction lists for 2 documents"):
        score_end_to_end(twice * 2, [[]])


# ---- gold data ------------------------------------------------------------------------------------------------
class FakeVocabulary:
    TABLE = {
        "D001": ("MESH:D001", "prefixed"),
        "MESH:D001": ("MESH:D001", "exact"),
        "OMIM:1": ("MESH:D001", "alternative"),
        "C5": ("MESH:C5", "prefixed"),
    }

    def resolve(self, raw_id):
        return self.TABLE.get(raw_id.strip(), (None, "missing"))


def test_gold_from_pubtator_resolves_composites_and_alternative_ids():
    text = "Breast and ovarian cancer and  OMIM disease ."
    doc = PubtatorDoc(
        "9",
        text,
        [
            PubtatorMention(0, 25, "Breast and ovarian cancer", "CompositeMention", ("D001", "C5"), 2),
            PubtatorMention(29, 43, " OMIM disease", "SpecificDisease", ("OMIM:1", "MESH:D001"), 3),  # both one id
            PubtatorMention(0, 6, "Breast", "Modifier", ("D999|D001",), 4),  # still joined: split here
            PubtatorMention(7, 10, "and", "DiseaseClass", (), 5),
        ],
        1,
    )
    docs, counts = gold_from_pubtator([doc], FakeVocabulary())
    assert [(m.start, m.end, m.ids, m.cls) for m in docs[0].mentions] == [
        (0, 25, ("MESH:D001", "MESH:C5"), "CompositeMention"),
        (31, 43, ("MESH:D001",), "SpecificDisease"),  # offsets trimmed of the leading spaces
        (0, 6, ("MESH:D999", "MESH:D001"), "Modifier"),  # the unknown id kept as written, normalised
        (7, 10, (), "DiseaseClass"),
    ]
    assert counts == {
        "ids": 6,
        "mentions": 4,
        "mentions_without_id": 1,
        "multi_id_mentions": 2,
        "status:alternative": 1,
        "status:exact": 1,
        "status:missing": 1,
        "status:prefixed": 3,
        "unresolved": 1,
    }
    docs, counts = gold_from_pubtator([doc])  # no vocabulary: only normalised
    assert docs[0].mentions[1].ids == ("OMIM:1", "MESH:D001") and "unresolved" not in counts


def test_gold_from_custom_and_id_helpers(tmp_path):
    doc = MentionDoc("d", "Acme sued Initech.", [(0, 4, "ACME-1"), (10, 17, "X")], None, tmp_path / "m.jsonl")
    docs, counts = gold_from_custom([doc])
    assert docs == [GoldDoc("d", doc.text, [GoldMention(0, 4, ("ACME-1",)), GoldMention(10, 17, ("X",))])]
    assert counts["ids"] == 2 and docs[0].mentions[0].label == "(none)"
    doc.composite = {(0, 4): ("ACME-1", "ACME-2")}  # a composite span read from PubTator keeps all its ids
    docs, counts = gold_from_custom([doc])
    assert docs[0].mentions[0].ids == ("ACME-1", "ACME-2") and counts["multi_id_mentions"] == 1
    assert normalize_id(" D008661") == "MESH:D008661" and normalize_id("C535918") == "MESH:C535918"
    assert normalize_id("OMIM:222100") == "OMIM:222100" and normalize_id("D1x") == "D1x"
    assert corpus_name("x/NCBItestset_corpus.txt") == "NCBItestset_corpus" and corpus_name("dev.jsonl") == "dev"
    assert is_ncbi_disease("NCBIdevelopset_corpus") and not is_ncbi_disease("dev")


def test_aligned_doc_splits_tokens_at_gold_offsets():
    nlp = spacy.blank("en")
    text = "Families with cerebellar ataxia type I. The gene was mapped."  # as in NCBI-disease test: "I." one token
    start = text.index("cerebellar")
    end = text.index(" The") - 1
    assert nlp.make_doc(text).char_span(start, end) is None
    doc, split = aligned_doc(nlp, text, [start, end])
    assert split == 1 and doc.text == text
    assert doc.char_span(start, end).text == "cerebellar ataxia type I"
    doc, split = aligned_doc(nlp, text, [start, start + 10])
    assert split == 0 and len(doc) == len(nlp.make_doc(text))


# ---- a stand-in pipeline on a PubTator corpus ----------------------------------------------------------------------
DOC1 = ("Women with breast and ovarian cancer", "were tested for cancer. The ataxia gene was mapped.")
DOC2 = (
    "Families studied",
    "In hereditary nonpolyposis colorectal cancer (HNPCC) families, HNPCC is dominant. Sporadic colorectal cancer "
    "differs.",
)
# (surface, occurrence, class, ids)
MENTIONS = {
    "1": [
        ("breast and ovarian cancer", 0, "CompositeMention", "D1|D2"),
        ("cancer", 1, "DiseaseClass", "D3"),
        ("ataxia", 0, "Modifier", "D7"),
    ],
    "2": [
        ("hereditary nonpolyposis colorectal cancer", 0, "SpecificDisease", "D5"),
        ("HNPCC", 0, "SpecificDisease", "D5"),
        ("HNPCC", 1, "SpecificDisease", "D5"),
        ("colorectal cancer", 1, "SpecificDisease", "D6"),
    ],
}


def pubtator_text() -> str:
    lines = []
    for pmid, (title, abstract) in (("1", DOC1), ("2", DOC2)):
        text = f"{title} {abstract}"
        lines += [f"{pmid}|t|{title}", f"{pmid}|a|{abstract}"]
        for surface, nth, cls, ids in MENTIONS[pmid]:
            start = -1
            for _ in range(nth + 1):
                start = text.index(surface, start + 1)
            lines.append(f"{pmid}\t{start}\t{start + len(surface)}\t{surface}\t{cls}\t{ids}")
        lines.append("")
    return "\n".join(lines) + "\n"


def build_stand_in():
    """sentencizer, an entity_ruler as mention_detector, spaCy's entity_linker scoring by prior only (incl_context
    False: every prediction is the highest prior), the abbreviation component. "HNPCC" is no alias: only the
    abbreviation component links it, through "hereditary nonpolyposis colorectal cancer (HNPCC)"."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler", name="mention_detector")
    el = nlp.add_pipe("entity_linker", config={"incl_context": False})
    kb = InMemoryLookupKB(vocab=nlp.vocab, entity_vector_length=3)
    for i, e in enumerate(["D1", "D2", "D3", "D5", "D6", "D7"]):
        kb.add_entity(f"MESH:{e}", freq=10, entity_vector=[float(i), 1.0, 0.0])
    aliases = {
        "breast cancer": {"MESH:D1": 0.9},
        "ovarian cancer": {"MESH:D2": 0.9},
        "breast and ovarian cancer": {"MESH:D2": 0.5, "MESH:D1": 0.4},
        "cancer": {"MESH:D3": 0.6, "MESH:D1": 0.3},
        "hereditary nonpolyposis colorectal cancer": {"MESH:D5": 0.9},
        "colorectal cancer": {"MESH:D6": 0.7, "MESH:D5": 0.2},
        "ataxia": {"MESH:D7": 0.8},
    }
    for alias, priors in aliases.items():
        kb.add_alias(alias, list(priors), list(priors.values()))
    el.set_kb(lambda vocab: kb)

    def examples():
        doc = nlp.make_doc("cancer is bad.")
        links = {(0, 6): {"MESH:D3": 1.0, "MESH:D1": 0.0}}
        return [Example.from_dict(doc, {"entities": [(0, 6, "X")], "links": links, "sent_starts": [1, 0, 0, 0]})]

    nlp.initialize(get_examples=examples)
    patterns = [a for a in aliases if a != "breast and ovarian cancer"]
    ruler.add_patterns([{"label": "DISEASE", "pattern": p} for p in patterns])  # after initialize, which clears it
    nlp.add_pipe("wikiel_abbreviations", name="abbreviations")
    return nlp


@pytest.fixture(scope="module")
def stand_in():
    return build_stand_in()


@pytest.fixture
def toy_corpus(tmp_path) -> Path:
    path = tmp_path / "toy_corpus.txt"
    path.write_text(pubtator_text(), encoding="utf8")
    return path


def test_stand_in_pipeline_on_pubtator_corpus(stand_in, toy_corpus):
    docs, counts = read_corpus(toy_corpus)
    assert counts["mentions"] == 7 and counts["multi_id_mentions"] == 1 and counts["reader:documents"] == 2
    r = evaluate_corpus(stand_in, docs, name="toy")
    assert r["published"] is None and r["counts"]["abbreviation_definitions"] == 1
    g = r["gold_mentions"]
    # ranked by prior: the composite (D2 first) is right by any id, HNPCC has no candidate (twice)
    assert (g["accuracy@1"], g["accuracy@5"]) == (0.7143, 0.7143)  # 5 of 7
    assert (g["strict_accuracy@1"], g["strict_accuracy@5"]) == (0.5714, 0.7143)  # the composite needs D1 and D2
    # on the gold spans the abbreviation component links both HNPCC
    assert g["pipeline_accuracy"] == {"as_built": 1.0, "without_abbreviations": 0.7143}
    assert g["by_class"]["SpecificDisease"]["accuracy@1"] == 0.5
    assert g["by_class"]["CompositeMention"] == {
        "mentions": 1,
        "accuracy@1": 1.0,
        "accuracy@5": 1.0,
        "strict_accuracy@1": 0.0,
        "strict_accuracy@5": 1.0,
    }
    # end to end: the ruler finds "ovarian cancer" inside the composite (wrong span); with abbreviations 2 HNPCC more
    e2e, plain = r["end_to_end"], r["end_to_end_without_abbreviations"]
    assert (e2e["mention"]["correct"], e2e["mention"]["predicted"], e2e["mention"]["gold"]) == (6, 7, 7)
    assert e2e["mention"]["f1"] == 0.8571
    assert (plain["mention"]["correct"], plain["mention"]["predicted"]) == (4, 5)
    assert (plain["mention"]["precision"], plain["mention"]["recall"], plain["mention"]["f1"]) == (0.8, 0.5714, 0.6667)
    # per document the same with and without: {D2,D3,D7} of {D1,D2,D3,D7}, {D5,D6} of {D5,D6}
    assert e2e["document"] == plain["document"]
    assert (e2e["document"]["precision"], e2e["document"]["recall"], e2e["document"]["f1"]) == (1.0, 0.8333, 0.9091)
    assert e2e["by_class"]["SpecificDisease"]["recall"] == 1.0 and plain["by_class"]["SpecificDisease"]["recall"] == 0.5
    assert e2e["by_class"]["CompositeMention"]["recall"] == 0.0
    report = markdown_report(r)
    assert "| as built (with abbreviations) | 0.857 | 0.857 | 0.857 | 1.000 | 0.833 | 0.909 |" in report
    assert "| without abbreviations | 0.800 | 0.571 | 0.667 |" in report
    assert "| CompositeMention | 1 | 1.000 | 1.000 | 0.000 | 0.000 | 0.000 |" in report
    assert "Published" not in report
    shown = evaluate_corpus(stand_in, docs, name="toy", published=True)
    assert [p["published"] for p in shown["published"]] == [0.837, 0.782, 0.911, 0.939, 0.924, 0.958]
    assert shown["published"][0]["this_linker"] == [
        {"measure": "end_to_end.mention.f1", "value": 0.8571},
        {"measure": "end_to_end.document.f1", "value": 0.9091},
    ]
    assert "## Published figures on NCBI-disease (not computed here)" in markdown_report(shown)
    assert evaluate_corpus(stand_in, docs[:1], name="NCBItestset_corpus")["published"] is not None


def test_pipeline_without_detector_or_abbreviations(toy_corpus):
    nlp = build_stand_in()
    nlp.remove_pipe("abbreviations")
    docs, _ = read_corpus(toy_corpus)
    r = evaluate_corpus(nlp, docs)
    assert r["end_to_end_without_abbreviations"] is None and r["end_to_end"]["mention"]["correct"] == 4
    assert list(r["gold_mentions"]["pipeline_accuracy"]) == ["as_built"]
    nlp.remove_pipe("mention_detector")
    r = evaluate_corpus(nlp, docs)
    assert r["end_to_end"] is None and "end-to-end evaluation skipped" in r["notes"][-1]
    assert r["gold_mentions"]["accuracy@1"] == 0.7143
    assert "## End to end" not in markdown_report(r)


def test_ranking_top_one_is_what_the_linker_predicts():
    """With context (an untrained, seeded model) the ranking's first id is the ScoredEntityLinker's prediction."""
    spacy.util.fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    el = nlp.add_pipe("wikiel_entity_linker", name="entity_linker", config={"entity_vector_length": 8})

    def make_kb(vocab):
        kb = InMemoryLookupKB(vocab, entity_vector_length=8)
        rng = np.random.default_rng(0)
        for qid in ("Q1", "Q2", "Q3", "Q4"):
            kb.add_entity(qid, 10, rng.normal(size=8).astype("float32"))
        kb.add_alias("Paris", ["Q1", "Q2"], [0.5, 0.45])
        kb.add_alias("Berlin", ["Q3", "Q4"], [0.45, 0.5])
        return kb

    el.set_kb(make_kb)
    doc = nlp.make_doc("Paris met Berlin.")
    doc.ents = [Span(doc, 0, 1, label="X", kb_id="Q1"), Span(doc, 2, 3, label="X", kb_id="Q3")]
    nlp.initialize(get_examples=lambda: [Example(nlp.make_doc(doc.text), doc)])
    text = "Paris is in Berlin. Berlin and Paris too. Paris again."
    spans = [(0, 5), (12, 18), (20, 26), (31, 36), (42, 47)]
    golds = ["Q1", "Q3", "Q3", "Q1", "Q1"]
    gold_doc = GoldDoc("g", text, [GoldMention(s, e, (g,)) for (s, e), g in zip(spans, golds)])
    r = evaluate_corpus(nlp, [gold_doc])
    check = nlp.get_pipe("sentencizer")(nlp.make_doc(text))
    check.ents = [check.char_span(s, e, label=MENTION_LABEL) for s, e in spans]
    linker = nlp.get_pipe("entity_linker")
    assert isinstance(linker, ScoredEntityLinker)
    predicted = [kb_id for kb_id, _ in linker.predict([check])]
    assert len(set(predicted)) > 1  # not one id for every mention
    expected = sum(p == g for p, g in zip(predicted, golds)) / len(spans)
    assert r["gold_mentions"]["accuracy@1"] == round(expected, 4)
    assert r["gold_mentions"]["pipeline_accuracy"]["as_built"] == round(expected, 4)
    assert r["gold_mentions"]["accuracy@5"] == 1.0  # two candidates each


# ---- the command line ---------------------------------------------------------------------------------------------
def run_cli(*args):
    return conftest.run_cli("evaluate-corpus", *args, timeout=600)


def test_cli(tmp_path, stand_in, toy_corpus):
    model = tmp_path / "model"
    stand_in.to_disk(model)
    out = tmp_path / "out"
    proc = run_cli(model, toy_corpus, out, "--published", "always")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "corpus.json").read_text())
    assert result["corpus"] == "toy_corpus" and result["pipeline"] == str(model)
    assert result["gold_mentions"]["accuracy@1"] == 0.7143 and result["end_to_end"]["mention"]["f1"] == 0.8571
    assert result["gold_ids"]["mentions"] == 7 and result["vocabulary"] is None
    report = (out / "corpus.md").read_text()
    assert report == markdown_report(result) and "BioSyn with SapBERT" in report and "| accuracy@1 | 0.714 |" in report
    stats = json.loads((out / "stats.json").read_text())
    assert stats["step"] == "evaluate-corpus" and stats["counts"]["gold_mentions"] == 7
    assert stats["counts"]["mention_f1"] == 0.8571 and stats["counts"]["document_f1"] == 0.9091
    assert leftovers(out) == []  # no temporaries left

    # custom JSONL documents, the first one only, no published figures by default
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_bytes(
        orjson.dumps({"id": "a", "text": "The ataxia gene.", "spans": [{"start": 4, "end": 10, "id": "MESH:D7"}]})
        + b"\n"
        + orjson.dumps({"id": "b", "text": "No disease here."})
        + b"\n"
    )
    proc = run_cli(model, jsonl, out / "custom", "--limit-docs", "1", "--vocabulary", "")  # "": no vocabulary
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "custom" / "corpus.json").read_text())
    assert result["docs"] == 1 and result["gold_mentions"]["accuracy@1"] == 1.0 and result["published"] is None
    assert "Per mention class" not in (out / "custom" / "corpus.md").read_text()  # the corpus has no classes

    proc = run_cli(model, tmp_path / "missing.txt", out / "skipped", "--skip-missing")
    assert proc.returncode == 0 and "missing.txt: skipped" in proc.stdout, proc.stderr[-3000:]
    assert json.loads((out / "skipped" / "stats.json").read_text())["counts"]["docs"] == 0
    assert (out / "skipped" / "corpus.md").read_text().startswith("No corpus at")

    bad = tmp_path / "bad.txt"
    bad.write_text("this is not a corpus\n", encoding="utf8")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf8")
    broken = tmp_path / "broken.txt"
    broken.write_text("1|t|Title\n1\t0\tfive\tTitle\tX\tD1\n", encoding="utf8")
    errors_out = tmp_path / "errors-out"  # a fresh output directory: out holds other outputs by now
    for args, message in [
        ((model, tmp_path / "missing.txt", errors_out), "missing.txt: does not exist"),
        ((tmp_path / "no-model", toy_corpus, errors_out), "no-model: no such pipeline directory"),
        ((model, bad, errors_out), "bad.txt:1: is neither a PubTator file nor custom documents"),
        ((model, empty, errors_out), "empty.txt: is empty"),
        ((model, broken, errors_out), "broken.txt:2: mention offsets must be integers"),
        ((model, toy_corpus, errors_out, "--published", "maybe"), "--published must be one of auto, always, never"),
        ((model, toy_corpus, errors_out, "--format", "xml"), "--format must be one of auto, pubtator, custom"),
        ((model, toy_corpus, errors_out, "--vocabulary", tmp_path / "none.tsv"), "none.tsv"),
    ]:
        proc = run_cli(*args)
        assert proc.returncode == 1 and "ERROR:" in proc.stderr and message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr


# ---- the real NCBI-disease files ------------------------------------------------------------------------------------
needs_biomedical = pytest.mark.skipif(
    not (BIOMEDICAL / "NCBItestset_corpus.txt").is_file(), reason=f"NCBI-disease not present at {BIOMEDICAL}"
)


@needs_biomedical
def test_real_ncbi_disease_gold_with_medic():
    medic = load_vocabulary(BIOMEDICAL / "CTD_diseases.tsv.gz")
    docs, counts = read_corpus(BIOMEDICAL / "NCBItestset_corpus.txt", vocabulary=medic)
    mentions = [m for d in docs for m in d.mentions]
    assert len(docs) == 100 and len(mentions) == 960  # as the corpus README says
    by_class = {c: sum(m.cls == c for m in mentions) for c in ("SpecificDisease", "DiseaseClass", "Modifier")}
    assert by_class == {"SpecificDisease": 555, "DiseaseClass": 121, "Modifier": 264}
    assert sum(m.cls == "CompositeMention" for m in mentions) == 20
    # every id resolves to a MEDIC concept but a few the 2017 release lacks; OMIM alternative ids map to MeSH
    assert counts["status:alternative"] > 0 and counts["unresolved"] < 0.01 * counts["ids"]
    resolved = {i for m in mentions for i in m.ids} - {i for i in medic.concepts}
    assert len(resolved) <= counts["unresolved"]
    assert all(i.startswith(("MESH:", "OMIM:")) for m in mentions for i in m.ids)
    assert is_ncbi_disease(corpus_name(BIOMEDICAL / "NCBItestset_corpus.txt"))


# ---- a small trained linker -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_on_a_trained_linker_agrees_with_build_linker(tmp_path):
    """The worked custom example: convert, KB, 3,000 train mentions, 1 epoch, build-linker, then evaluate-corpus on
    the dev documents build-linker tuned on. End to end with and without abbreviations must be build-linker's own
    figures on those documents (one paragraph each), and the ranking's first id what the linker predicts."""
    example, configs = EXAMPLE, ROOT / "configs"
    steps = [
        ("convert-custom-kb", example / "entities.jsonl", example / "mentions.jsonl", "corpus"),
        ("build-kb", "corpus/wikidata", "corpus/wikipedia", "kb", "--min-freq", 1, "--min-pair", 1, "--vector-dim", 32),
        ("extract-mentions", "corpus/wikipedia", "kb", "mentions", "--max-train", 3000),
        ("train", configs / "nel.cfg", "mentions", "kb", "nel", "--max-epochs", 1),
        ("build-linker", "nel/model-best", "kb", "corpus/wikipedia", "linker"),
    ]
    for args in steps:
        if args[0] == "convert-custom-kb":
            args += ("--priors", example / "priors.tsv")
        proc = conftest.run_cli(*args, cwd=tmp_path, timeout=900)
        assert proc.returncode == 0, (args, proc.stderr[-3000:])
    dev = tmp_path / "dev.jsonl"
    with open(dev, "wb") as f:
        for line in (tmp_path / "corpus" / "wikipedia" / "articles.jsonl").read_bytes().splitlines():
            article = orjson.loads(line)
            if article["split"] == "dev":
                spans = [{"start": s, "end": e, "id": i} for s, e, i in article["links"]]
                f.write(orjson.dumps({"id": article["id"], "text": article["text"], "spans": spans}) + b"\n")
    proc = run_cli(tmp_path / "linker" / "model", dev, tmp_path / "out")
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "out" / "corpus.json").read_text())
    built = json.loads((tmp_path / "linker" / "stats.json").read_text())["counts"]
    keys = ("correct", "predicted", "gold", "precision", "recall", "f1")
    assert {k: result["end_to_end_without_abbreviations"]["mention"][k] for k in keys} == {
        k: built["end_to_end"][k] for k in keys
    }
    assert {k: result["end_to_end"]["mention"][k] for k in keys} == {
        k: built["end_to_end_with_abbreviations"][k] for k in keys
    }
    g = result["gold_mentions"]
    assert g["mentions"] == built["dev"]["gold_mentions"]
    assert g["pipeline_accuracy"]["without_abbreviations"] == g["accuracy@1_nil_threshold"]
    assert g["accuracy@1"] <= g["accuracy@5"] <= g["candidates"]["oracle"]
    # the example defines ad-hoc abbreviations in dev documents only: the component links their later uses
    assert result["counts"]["abbreviation_definitions"] > 0
    assert result["end_to_end"]["mention"]["recall"] > result["end_to_end_without_abbreviations"]["mention"]["recall"]
