"""The whole chain on the real excerpts in ../shared/data (enwiki XML excerpt + Wikidata excerpts), thresholds
lowered."""

import json

import pytest

from conftest import SHARED_DATA, run_project_copy

pytestmark = [
    pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"real excerpts not found at {SHARED_DATA}"),
    pytest.mark.slow,  # the whole workflow
]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    overrides = {
        "source": "excerpts",
        "excerpts_dir": str(SHARED_DATA),
        "benchmarks_dir": str(SHARED_DATA / "benchmarks"),
        "min_freq": 1,
        "min_pair": 1,
        "max_epochs": 1,
        "curve_sizes": "50,100",
        "curve_epochs": 1,
        "n_process": 1,
        # floret on the excerpt's whole text (~6 MB) took most of this run: the vectors are not what it tests
        "vector_dim": 16,
        "max_vector_text_mb": 1,
    }
    return run_project_copy(tmp_path_factory.mktemp("excerpts"), overrides, timeout=1200)


def test_kb_holds_china_with_prior_from_the_excerpt_links(project):
    import spacy

    from wikiel.kb.tables import load_kb

    kb = load_kb(project / "corpus/kb/kb", spacy.blank("en"))
    candidates = {c.entity_: c.prior_prob for c in kb.get_alias_candidates("China")}
    assert "Q148" in candidates
    # "China" -> China is linked 13 times in the excerpt's train articles (and nothing else in the KB is "China")
    rows = [line.split("\t") for line in (project / "corpus/wikipedia/link_counts.tsv").read_text().splitlines()]
    assert ["China", "China", "13"] in rows
    assert candidates["Q148"] == pytest.approx(1.0)
    assert kb.get_alias_candidates("People's Republic of China")[0].entity_ == "Q148"  # the label


def test_chain_completes_with_evaluation_and_curve(project):
    evaluation = json.loads((project / "training/evaluation/evaluation.json").read_text())
    assert evaluation["mentions"] > 0
    assert (project / "training/curve/curve.png").exists()
    stats = json.loads((project / "corpus/kb/stats.json").read_text())["counts"]
    assert stats["entities"] > 10 and stats["aliases"] >= stats["entities"]


def test_benchmarks_scored_with_the_excerpt_kb(project):
    """evaluate-benchmarks on all six ELEVANT files with a KB from the real excerpts: every gold label is counted,
    nearly all are out of KB, and the in-KB ones (China, Belgium ... appear in the benchmarks) get scored."""
    result = json.loads((project / "training/benchmarks/benchmarks.json").read_text())
    assert sorted(result["benchmarks"]) == ["kore50", "msnbc", "reuters-128", "rss-500", "spotlight", "wiki-fair-v2"]
    gold = result["total"]["gold"]
    assert gold["labels"] == 6480
    assert 0 < gold["in_kb"] < gold["labels"] * 0.2
    assert result["total"]["end_to_end"] is not None
    linker = json.loads((project / "training/linker/stats.json").read_text())["counts"]
    assert linker["detection"]["gold"] > 0
