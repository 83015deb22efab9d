"""evaluate-benchmarks: ELEVANT reader, metrics on hand-made benchmarks with a stand-in pipeline, the CLI, real
files."""

import json
from pathlib import Path

import pytest
import spacy
from spacy.kb import InMemoryLookupKB
from spacy.tokens import Span
from spacy.training import Example

import conftest
from conftest import SHARED_DATA, leftovers
from wikiel.evaluation.elevant import (
    benchmark_files,
    evaluate_benchmark,
    evaluate_benchmarks,
    markdown_report,
    read_benchmark,
    summarize,
)
from wikiel.util import InputError

BENCHMARKS = SHARED_DATA / "benchmarks"
# docs and gold labels of the real files, as listed in ../shared/data/README.md
REAL_COUNTS = {
    "kore50": (50, 144),
    "msnbc": (20, 755),
    "reuters-128": (128, 880),
    "rss-500": (500, 1000),
    "spotlight": (58, 330),
    "wiki-fair-v2": (120, 3371),
}


def build_stand_in():
    """sentencizer + entity_ruler as mention_detector + an untrained entity_linker over a 4-entity KB. The linker
    scores by prior only (incl_context False), so every prediction is determined: the one candidate, or the highest
    prior among candidates whose priors differ."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler", name="mention_detector")
    el = nlp.add_pipe("entity_linker", config={"incl_context": False})
    kb = InMemoryLookupKB(vocab=nlp.vocab, entity_vector_length=3)
    for i, qid in enumerate(["Q1", "Q2", "Q3", "Q4"]):
        kb.add_entity(qid, freq=10, entity_vector=[float(i), 1.0, 0.0])
    kb.add_alias("Paris", ["Q1", "Q2"], [0.7, 0.2])  # Paris (city) before Paris Hilton
    kb.add_alias("Paris Hilton", ["Q2"], [0.9])
    kb.add_alias("London", ["Q3"], [0.9])
    kb.add_alias("Berlin", ["Q4"], [0.9])
    el.set_kb(lambda vocab: kb)

    def examples():
        doc = nlp.make_doc("Paris is lovely.")
        return [
            Example.from_dict(
                doc,
                {"entities": [(0, 5, "GPE")], "links": {(0, 5): {"Q1": 1.0, "Q2": 0.0}}, "sent_starts": [1, 0, 0, 0]},
            )
        ]

    nlp.initialize(get_examples=examples)
    ruler.add_patterns(
        [{"label": "GPE", "pattern": p} for p in ("Paris", "London", "Berlin", "Tokyo")]
        + [{"label": "PERSON", "pattern": "Paris Hilton"}]
    )
    return nlp


@pytest.fixture(scope="module")
def nlp():
    return build_stand_in()


def label(text, surface, entity_id, nth=0, pad=0, **extra):
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return {"span": [start, start + len(surface) + pad], "entity_id": entity_id, "name": surface, "type": "x", **extra}


def toy_docs():
    a = "Paris is lovely. London is big."
    b = "Paris Hilton visited Berlin and Tokyo with Bob."
    c = "In Paris, Paris said hi."
    d = "London calling from Berlin. Paris later."
    return [
        {"id": 0, "title": "a", "text": a, "labels": [label(a, "Paris", "Q1"), label(a, "London", "Q3")]},
        {
            "id": 1,
            "title": "b",
            "text": b,
            "labels": [
                label(b, "Paris Hilton", "Q2", id=0, children=[1]),
                label(b, "Hilton", "Q2", id=1, parent=0),
                label(b, "Berlin", "Q64"),
                label(b, "Tokyo", "Q1490"),
                label(b, "Bob", "<NIL>"),
            ],
        },
        # the second Paris is Paris Hilton, and its span carries a trailing space (as in Reuters-128)
        {"id": 2, "title": "c", "text": c, "labels": [label(c, "Paris", "Q1"), label(c, "Paris", "Q2", nth=1, pad=1)]},
        {
            "id": "d-4",
            "title": "d",
            "text": d,
            "evaluation_span": [0, d.index(" Paris")],
            "extra": {"x": 1},
            "labels": [label(d, "London", "<NO_MAPPING>"), label(d, "Berlin", "Q4", optional=True)],
        },
    ]


def write_lines(path: Path, docs) -> Path:
    path.write_text("".join(json.dumps(doc) + "\n" for doc in docs), encoding="utf8")
    return path


def test_metrics_on_toy_benchmark(tmp_path, nlp):
    docs = read_benchmark(write_lines(tmp_path / "toy.benchmark.jsonl", toy_docs()))
    assert [d.id for d in docs] == [0, 1, 2, "d-4"] and docs[2].trimmed == 1
    assert (docs[2].labels[1].start, docs[2].labels[1].end) == (10, 15)
    s = summarize(evaluate_benchmark(nlp, docs))
    assert s["docs"] == 4
    assert s["gold"] == {
        "labels": 11,
        "in_kb": 7,
        "out_of_kb": 2,
        "nil": 2,
        "nested": 1,
        "top_level": 10,
        "optional": 1,
        "coref": 0,
        "spans_trimmed": 1,
        "nil_kinds": {"<NIL>": 1, "<NO_MAPPING>": 1},
    }
    gs = s["gold_spans"]
    assert gs["overlap_dropped"] == 1 and gs["unaligned"] == 0  # the nested "Hilton" gives way to "Paris Hilton"
    # in-KB: Paris, London, Paris Hilton, Paris, Berlin right; "Paris" meaning Paris Hilton gets the city
    assert gs["in_kb"] == {"n": 6, "correct": 5, "accuracy": 0.8333}
    assert gs["out_of_kb"] == {"n": 2, "predicted_nil": 1, "nil_rate": 0.5}  # Tokyo NIL, Berlin (Q64) -> Q4
    assert gs["nil"] == {"n": 2, "predicted_nil": 1, "nil_rate": 0.5}  # Bob NIL, London (<NO_MAPPING>) -> Q3
    assert gs["candidates"] == {
        "recall@1": 0.8333,
        "recall@5": 1.0,
        "recall@10": 1.0,
        "oracle": 1.0,
        "mean_candidates": 1.5,
    }
    assert gs["kb_score"] is None  # spaCy's EntityLinker sets no kb_score
    e2e = s["end_to_end"]
    # predictions: Paris, London, Paris Hilton (hits), Berlin->Q4 (gold Q64), Paris->Q1 (gold Q2), London->Q3 on NIL
    # gold (false positives), Berlin->Q4 on an optional label (neither), Paris outside the evaluation span (ignored)
    assert {
        k: e2e[k]
        for k in (
            "gold",
            "gold_in_kb",
            "predictions",
            "tp",
            "fp",
            "fp_on_nil_gold",
            "matched_nested_or_optional",
            "outside_evaluation_span",
        )
    } == {
        "gold": 7,
        "gold_in_kb": 5,
        "predictions": 8,
        "tp": 4,
        "fp": 3,
        "fp_on_nil_gold": 1,
        "matched_nested_or_optional": 1,
        "outside_evaluation_span": 1,
    }
    assert (e2e["precision"], e2e["recall"], e2e["f1"], e2e["in_kb_recall"]) == (0.5714, 0.5714, 0.5714, 0.8)
    assert s["speed"]["gold_spans"]["docs_per_s"] > 0 and s["speed"]["end_to_end"]["mentions_per_s"] > 0


def test_aggregate_report_and_no_mention_detector(tmp_path, nlp):
    toy = read_benchmark(write_lines(tmp_path / "toy.benchmark.jsonl", toy_docs()))
    one = read_benchmark(write_lines(tmp_path / "one.benchmark.jsonl", toy_docs()[:1]))
    result = evaluate_benchmarks(nlp, {"toy": toy, "one": one})
    assert result["kb_entities"] == 4 and result["notes"] == []
    total = result["total"]
    assert total["docs"] == 5 and total["gold"]["labels"] == 13 and total["gold"]["in_kb"] == 9
    assert total["gold_spans"]["in_kb"] == {"n": 8, "correct": 7, "accuracy": 0.875}
    assert (total["end_to_end"]["tp"], total["end_to_end"]["fp"], total["end_to_end"]["gold"]) == (6, 3, 9)
    report = markdown_report(result)
    assert "nearly all benchmark entities are out of KB" in report
    assert "| toy | 4 | 11 | 7 | 2 | 2 | 0.833 | 0.833 | 1.000 | 0.571 | 0.571 | 0.571 | 0.800 |" in report
    assert "| **all** | 5 | 13 | 9 |" in report
    with nlp.select_pipes(disable=["mention_detector"]):
        result = evaluate_benchmarks(nlp, {"toy": toy})
    assert result["benchmarks"]["toy"]["end_to_end"] is None and "end-to-end evaluation skipped" in result["notes"][0]
    assert result["benchmarks"]["toy"]["gold_spans"]["in_kb"]["correct"] == 5
    assert "| toy | 4 | 11 | 7 | 2 | 2 | 0.833 | 0.833 | 1.000 | – | – | – | – |" in markdown_report(result)


def test_kb_score_used_when_registered(tmp_path, nlp):
    # the pipeline components register kb_score once per process: set it aside, then put it back as it was
    registered = Span.remove_extension("kb_score") if Span.has_extension("kb_score") else None
    Span.set_extension("kb_score", default=0.5)
    try:
        docs = read_benchmark(write_lines(tmp_path / "toy.benchmark.jsonl", toy_docs()))
        s = summarize(evaluate_benchmark(nlp, docs))
    finally:
        Span.remove_extension("kb_score")
        if registered is not None:
            default, method, getter, setter = registered
            given = {k: v for k, v in (("method", method), ("getter", getter), ("setter", setter)) if v is not None}
            Span.set_extension("kb_score", **(given or {"default": default}))
    assert s["gold_spans"]["kb_score"] == {"mean_correct": 0.5, "mean_wrong": 0.5, "n": 6}


GOOD = {"id": 1, "title": "t", "text": "Paris.", "labels": [{"span": [0, 5], "entity_id": "Q1"}]}


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"id": 1, "text": ', "malformed JSON"),
        ("[1, 2]", "is not a JSON object"),
        ('{"id": 1, "text": "x"}', "missing key(s) 'labels'"),
        ('{"id": 1, "text": "Paris.", "labels": [{"span": [0, 5]}]}', "label 0: missing key 'entity_id'"),
        ('{"id": 1, "text": "Paris.", "labels": [{"span": [0, 9], "entity_id": "Q1"}]}', "out of range"),
        ('{"id": 1, "text": "Paris.", "labels": [{"span": [3, 3], "entity_id": "Q1"}]}', "out of range"),
        ('{"id": 1, "text": "Paris.", "labels": [{"span": [0, 5.0], "entity_id": "Q1"}]}', "not a pair of integers"),
        ('{"id": 1, "text": "Paris.", "labels": [{"span": [true, 5], "entity_id": "Q1"}]}', "not a pair of integers"),
        ('{"id": 1, "text": "Paris.", "labels": [{"span": [0, 5], "entity_id": 7}]}', "is not a string"),
        ('{"id": 1, "text": "a  b", "labels": [{"span": [1, 3], "entity_id": "Q1"}]}', "covers only whitespace"),
        ('{"id": 1, "text": "Paris.", "labels": {}}', "'labels' is not a list"),
        ('{"id": 1, "text": "Paris.", "labels": [], "evaluation_span": [0, 99]}', "evaluation_span"),
    ],
)
def test_reader_errors_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.benchmark.jsonl"
    path.write_text(json.dumps(GOOD) + "\n\n" + line + "\n", encoding="utf8")
    with pytest.raises(InputError) as err:
        read_benchmark(path)
    assert str(err.value).startswith(f"{path}:3: ") and message in str(err.value)


def test_reader_empty_binary_and_missing(tmp_path):
    for content in (b"", b"\n  \n"):
        (tmp_path / "e.benchmark.jsonl").write_bytes(content)
        with pytest.raises(InputError, match="is empty"):
            read_benchmark(tmp_path / "e.benchmark.jsonl")
    (tmp_path / "b.benchmark.jsonl").write_bytes(json.dumps(GOOD).encode() + b"\n\xff\xfe\x00\n")
    with pytest.raises(InputError, match=r"b\.benchmark\.jsonl:2: not UTF-8"):
        read_benchmark(tmp_path / "b.benchmark.jsonl")
    with pytest.raises(InputError, match="does not exist"):
        benchmark_files([tmp_path / "nope"])
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(InputError, match="holds no"):
        benchmark_files([tmp_path / "emptydir"])
    assert len(read_benchmark(write_lines(tmp_path / "t.benchmark.jsonl", toy_docs()), limit=2)) == 2


def run_cli(*args):
    return conftest.run_cli("evaluate-benchmarks", *args, timeout=600)


def test_cli_end_to_end(tmp_path, nlp):
    model = tmp_path / "model"
    nlp.to_disk(model)
    bench = tmp_path / "bench"
    bench.mkdir()
    write_lines(bench / "toy.benchmark.jsonl", toy_docs())
    write_lines(tmp_path / "extra.benchmark.jsonl", toy_docs()[:1])
    out = tmp_path / "out"
    proc = run_cli(model, bench, tmp_path / "extra.benchmark.jsonl", out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "benchmarks.json").read_text())
    assert sorted(result["benchmarks"]) == ["extra", "toy"] and result["pipeline"] == str(model)
    assert result["benchmarks"]["toy"]["gold_spans"]["in_kb"]["accuracy"] == 0.8333
    assert result["benchmarks"]["toy"]["end_to_end"]["f1"] == 0.5714
    assert "| toy | 4 | 11 | 7 | 2 | 2 | 0.833 |" in (out / "benchmarks.md").read_text()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["step"] == "evaluate-benchmarks" and stats["counts"]["docs"] == 5 and stats["seconds"] > 0
    assert leftovers(out) == []  # no temporaries left

    proc = run_cli(model, bench, out / "limited", "--limit-docs", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((out / "limited" / "benchmarks.json").read_text())["total"]["docs"] == 1

    errors_out = tmp_path / "errors-out"  # a fresh output directory: out holds other outputs by now
    for args, message in [
        ((model, tmp_path / "missing", errors_out), "missing: does not exist"),
        ((tmp_path / "no-model", bench, errors_out), "no-model: no such pipeline directory"),
    ]:
        proc = run_cli(*args)
        assert proc.returncode == 1 and "ERROR:" in proc.stderr and message in proc.stderr
        assert "Traceback" not in proc.stderr


needs_benchmarks = pytest.mark.skipif(not BENCHMARKS.is_dir(), reason=f"real benchmarks not present at {BENCHMARKS}")


@needs_benchmarks
def test_real_benchmark_files():
    files = benchmark_files([BENCHMARKS])
    assert sorted(f.name.replace(".benchmark.jsonl", "") for f in files) == sorted(REAL_COUNTS)
    found = {}
    for f in files:
        docs = read_benchmark(f)
        labels = [g for d in docs for g in d.labels]
        found[f.name.replace(".benchmark.jsonl", "")] = (len(docs), len(labels))
        if f.name.startswith("wiki-fair"):
            # nested and optional labels, an evaluation span shorter than the text, and odd ids ("" and two QIDs
            # run together) besides the QUANTITY / DATETIME / <NIL> markers
            assert sum(g.nested for g in labels) == 334 and sum(g.optional for g in labels) == 48
            assert sum(g.coref for g in labels) == 484
            assert all(d.evaluation_span[1] <= len(d.text) for d in docs)
            assert {g.entity_id for g in labels if not g.qid} == {
                "QUANTITY",
                "DATETIME",
                "<NIL>",
                "",
                "Q1134486Q4850082",
            }
        if f.name.startswith("reuters"):
            assert sum(d.trimmed for d in docs) == 3
    assert found == REAL_COUNTS


@needs_benchmarks
def test_real_benchmark_with_stand_in(nlp):
    docs = read_benchmark(BENCHMARKS / "kore50.benchmark.jsonl")
    s = summarize(evaluate_benchmark(nlp, docs))
    g = s["gold"]
    assert s["docs"] == 50 and g["labels"] == 144 and g["nil"] == 1 and g["nil_kinds"] == {"<NO_MAPPING>": 1}
    assert g["in_kb"] + g["out_of_kb"] == 143 and g["nested"] == 0
    assert s["gold_spans"]["overlap_dropped"] == 0 and s["gold_spans"]["unaligned"] == 0
    assert s["gold_spans"]["out_of_kb"]["n"] + s["gold_spans"]["nil"]["n"] + s["gold_spans"]["in_kb"]["n"] == 144
    e2e = s["end_to_end"]
    assert e2e["gold"] == 143 and e2e["tp"] + e2e["fp"] + e2e["matched_nested_or_optional"] == e2e["predictions"]
    wiki = summarize(evaluate_benchmark(nlp, read_benchmark(BENCHMARKS / "wiki-fair-v2.benchmark.jsonl", limit=5)))
    assert wiki["docs"] == 5 and wiki["gold_spans"]["overlap_dropped"] > 0
