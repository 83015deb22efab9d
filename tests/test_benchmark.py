"""The benchmark: projection arithmetic, the report's tables and marks, decompression timing, one tiny real run."""

import bz2
import gzip
import os
import re
import subprocess
from pathlib import Path

import orjson
import pytest

from conftest import WIKIEL
from wikiel.bench.benchmark import (
    GIB,
    PAGES_PER_STREAM,
    REAL_DUMP_ENTITIES,
    REAL_WIKIDATA_BYTES,
    REALISTIC_FILES,
    DumpFile,
    RealisticWikidata,
    RealisticWikipedia,
    Results,
    Settings,
    StepRun,
    build_realistic_wikipedia,
    measure_decoders,
    measure_decompression,
    projection,
    projections,
    realistic_decoders,
    realistic_parts,
    realistic_projection,
    render_markdown,
    render_realistic_wikipedia,
    tree_rss_mb,
    wikipedia_projection,
    write_realistic_wikidata,
)
from wikiel.bench.speed import dev_texts
from wikiel.sources.wikidata import KEY_SEARCH, parse_wikidata
from wikiel.sources.wikipedia import stream_starts

ROOT = Path(__file__).resolve().parents[1]


def step(name, seconds, peak=100.0, cpu=None, **counts):
    """A run whose CPU seconds default to 2 processes busy all along."""
    return StepRun(name, seconds, seconds + 1, 2 * seconds if cpu is None else cpu, peak, peak + 10, counts)


def dump(path, compressed_mb, decompressed_mb, wall):
    """A dump file whose decompressors keep their threads busy: indexed_bzip2 x2 takes twice its wall time in CPU."""
    cpu = {name: seconds * (2 if name.startswith("indexed_bzip2") else 1) for name, seconds in wall.items()}
    return DumpFile(path, int(compressed_mb * 1e6), int(decompressed_mb * 1e6), wall, cpu)


def parse_steps(wikidata_seconds, wikipedia_seconds, peak=100.0):
    return {
        "parse-wikidata": step("parse-wikidata", wikidata_seconds, peak, entities=1000),
        "parse-wikipedia": step("parse-wikipedia", wikipedia_seconds, peak, pages=500),
    }


def later_steps(peak=100.0):
    return {
        "build-kb": step("build-kb", 100, peak, 100, entities=5000, vectors={"vector_text_bytes": 10_000_000}),
        "extract-mentions": step("extract-mentions", 20, peak, 20, train={"mentions": 9000}, dev={"mentions": 1000}),
    }


@pytest.fixture
def results():
    """4x world: Wikidata parses at 0.8 of gzip (met), Wikipedia at 0.08 of indexed_bzip2 (missed)."""
    r = Results(
        {"CPU": "test"},
        "wikiel benchmark out.md",
        Settings(1000, 100, 4, 2, 1000),
        {"max_epochs": 2, "max_vector_text_mb": 500, "vector_threads": 4},
        train_mentions=1000,
        dev_mentions=250,
        wikidata_excerpt_bz2_bytes=700_000,
    )
    r.files["wikidata"] = {
        "1x": dump("wd1.gz", 1, 8, {"gzip": 0.1}),
        "4x": dump("wd4.gz", 4, 32, {"gzip": 0.4}),
        "excerpt": dump("ex.json.gz", 1, 7.5, {"gzip": 0.05}),
    }
    bz = {"indexed_bzip2 x2": 0.2, "bz2": 0.3}
    r.files["wikipedia"] = {
        "1x": dump("wp1.bz2", 1, 5, bz),
        "4x": dump("wp4.bz2", 4, 20, {"indexed_bzip2 x2": 0.8, "bz2": 1.2}),
        "excerpt": dump("ex.xml.bz2", 1, 3.6, bz),
    }
    r.steps = {
        "1x": {**parse_steps(0.15, 2.5), **later_steps()},
        "4x": {
            **parse_steps(0.5, 10, peak=200.0),
            **later_steps(peak=110.0),
            "train": step("train", 10, 150, 10, best_dev_scores={}),
        },
        "excerpt": parse_steps(0.2, 1.0),
    }
    return r


def test_projection_binding_terms():
    assert projection(3600, 1.0, 2, 10.0) == (0.5, "parse")
    hours, term = projection(3600, 10.0, 16, 20.0)
    assert hours == pytest.approx(0.05) and term == "decompression"


def test_projections_arithmetic(results):
    by_step = {p.step: p for p in projections(results)}
    real_mb = REAL_WIKIDATA_BYTES * 7.5 / 1e6
    # 32 MB decompressed in 1 CPU second (0.5 s on 2 processes); the excerpt inflates 150 MB per CPU second
    assert by_step["parse-wikidata"].hours[2] == (pytest.approx(real_mb / 64 / 3600), "parse")
    assert by_step["parse-wikidata"].hours[16] == (pytest.approx(real_mb / 150 / 3600), "decompression")
    # 20 MB in 20 CPU seconds = 1 MB per CPU second; indexed_bzip2 does 9 MB per CPU second: 144 MB/s on 16
    real_mb = 22 * GIB * 3.6 / 1e6
    assert by_step["parse-wikipedia"].hours[16] == (pytest.approx(real_mb / 16 / 3600), "parse")
    # build-kb: 100 CPU s for 10 MB of floret text -> 500 MB on min(4 threads, cores); extract: 20 CPU s per 10K
    # mentions -> 210K; train: 10 CPU s per 1K mentions and epoch -> 200K x 2 epochs
    assert by_step["build-kb"].hours[2] == (pytest.approx(2500 / 3600), "2 threads")
    assert by_step["build-kb"].hours[16] == (pytest.approx(1250 / 3600), "4 threads")
    assert by_step["extract-mentions"].hours[16][0] == pytest.approx(420 / 3600)
    assert by_step["train"].hours[2][0] == pytest.approx(4000 / 3600)


def test_render_markdown_tables_and_marks(results):
    report = render_markdown(results)
    for heading in (
        "## Machine",
        "## Command",
        "## Parsing against raw decompression",
        "## Peak memory",
        "## KB, mentions and training",
        "## Projection to the real dumps",
    ):
        assert heading in report
    wikidata_4x = next(line for line in report.splitlines() if line.startswith("| parse-wikidata | 4x |"))
    assert "| 0.80 | >= 0.8 | met |" in wikidata_4x
    wikipedia_4x = next(line for line in report.splitlines() if line.startswith("| parse-wikipedia | 4x |"))
    assert "| 0.08 | >= 0.6 | **missed** |" in wikipedia_4x
    memory = {line.split(" | ")[0]: line for line in report.splitlines() if "| <= 1.25 |" in line}
    assert "| 2.00 |" in memory["| parse-wikidata"] and "**missed**" in memory["| parse-wikidata"]
    assert re.search(r"^\| train \| 4x \| 10\.0 \|.*\| 10\.00 \|$", report, re.M)
    assert re.search(r"^\| \*\*total\*\* \|.*\| \*\*\d+\.\d\*\* \| \*\*\d+\.\d\*\* \|$", report, re.M)
    assert "wikiel benchmark out.md" in report


def test_measure_decompression(tmp_path):
    data = b'{"id": "Q1"},\n' * 50_000
    gz, bz = tmp_path / "x.json.gz", tmp_path / "x.xml.bz2"
    gz.write_bytes(gzip.compress(data))
    bz.write_bytes(bz2.compress(data))
    assert measure_decompression(gz, 2, repeats=1, min_seconds=0).decompressed_bytes == len(data)
    measured = measure_decompression(bz, 2, repeats=1, min_seconds=0)
    assert list(measured.decompress_seconds) == ["indexed_bzip2 x2", "bz2"]
    assert measured.ratio == pytest.approx(len(data) / bz.stat().st_size)
    assert measured.cpu_rate("bz2") > 0 and measured.rate("bz2") > 0


def test_tree_rss_counts_this_process():
    assert tree_rss_mb(os.getpid()) > 10


@pytest.mark.slow
def test_tiny_benchmark_run(tmp_path):
    """End to end on tiny worlds (about a minute): the report is written and has numbers."""
    out = tmp_path / "benchmark.md"
    command = [
        *WIKIEL,
        "benchmark",
        str(out),
        "--entities",
        "1500",
        "--articles",
        "250",
        "--scale",
        "2",
        "--train-mentions",
        "200",
        "--wikipedia-mb",
        "7",
        "--workdir",
        str(tmp_path / "work"),
        "--wikidata-mb",
        "2",
    ]
    # the timeout guards against a hang only: the run took 218 s under load 12
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = out.read_text()
    for step_name in ("parse-wikidata", "parse-wikipedia"):
        for label in ("1x", "2x"):
            assert re.search(rf"^\| {step_name} \| {label} \| \d+\.\d \|", report, re.M)
    assert re.search(r"^\| train \| 2x \| \d+\.\d \|", report, re.M)
    for what in ("full pipeline", "linking step alone", "spaCy's EntityLinker.predict"):
        assert re.search(rf"^\| {re.escape(what)}[^|]*\| \d+ \| \d+ \| [\d,]+\.\d \|", report, re.M), what
    assert re.search(r"^\| \*\*total\*\* \|.*\*\*\d+\.\d\*\*", report, re.M)
    assert (tmp_path / "work" / "results.json").is_file()
    if EXCERPT_XML.is_file():
        assert re.search(r"^\| parse-wikipedia without index, \d+ processes \| \d+\.\d\d \|", report, re.M)
    if all((ROOT.parent / "shared/data/wikidata" / name).is_file() for name in REALISTIC_FILES):
        assert "## parse-wikidata on realistic records" in report  # (made from the real excerpts)


# --- parse-wikipedia on real page text ------------------------------------------------------------------------------

EXCERPT_XML = ROOT.parent / "shared/data/wikipedia/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def test_realistic_wikipedia_dump(tmp_path):
    """Streams of 100 distinct real pages between the header and the tail streams, and an index of each page."""
    if not EXCERPT_XML.is_file():
        pytest.skip("no real excerpt")
    dump, index = tmp_path / "dump.xml.bz2", tmp_path / "index.txt.bz2"
    pages, streams, xml_bytes = build_realistic_wikipedia(EXCERPT_XML, dump, index, 6_500_000, 2)
    assert streams == -(-pages // PAGES_PER_STREAM) and pages > 205  # more than the excerpt's pages
    xml = bz2.decompress(dump.read_bytes())
    assert len(xml) == xml_bytes >= 6_500_000 and xml.count(b"<page>") == pages
    lines = bz2.decompress(index.read_bytes()).decode("utf8").splitlines()
    titles = [line.split(":", 2)[2] for line in lines]
    assert len(titles) == len(set(titles)) == pages and any(title.endswith(" (1)") for title in titles)
    offsets = sorted({int(line.split(":", 1)[0]) for line in lines})
    starts = list(stream_starts(dump))
    assert starts[1:-1] == offsets and len(offsets) == streams  # the header stream first, the tail stream last
    assert b"<siteinfo>" in bz2.decompress(dump.read_bytes()[: offsets[0]])


def test_realistic_wikipedia_report_and_projection():
    r = RealisticWikipedia("x.xml.bz2", 1000, 10, 25_000_000, 100_000_000, 2)
    r.decompress_seconds = {"indexed_bzip2 x1": 8.0, "indexed_bzip2 x2": 4.0}
    r.runs = {"with index": step("parse-wikipedia", 8.0), "without index": step("parse-wikipedia", 6.0)}
    r.cpu_seconds = {"with index": 16.0, "without index": 12.0}
    r.main_cpu_seconds = {"with index": 0.5, "without index": 0.5}
    hours = wikipedia_projection(r)
    # 100 GB of XML: 0.16 CPU s per MB over 2 and 16 cores; on 64 cores the main process's 0.005 s per MB binds
    assert hours[2] == (pytest.approx(1e5 * 0.16 / 2 / 3600), "cores")
    assert hours[16] == (pytest.approx(1e5 * 0.01 / 3600), "cores")
    assert hours[64] == (pytest.approx(1e5 * 0.005 / 3600), "main process")
    report = render_realistic_wikipedia(r)
    assert "| parse-wikipedia with index, 2 processes | 8.00 | 3.1 | 12.5 | 0.50 | >= 0.6 | **missed** |" in report
    assert "| parse-wikipedia without index, 2 processes | 6.00 | 4.2 | 16.7 | 0.67 | >= 0.6 | met |" in report


# --- the realistic Wikidata dump --------------------------------------------------------------------------------

DATA = ROOT.parent / "shared" / "data"


@pytest.mark.skipif(not (DATA / "wikidata").is_dir(), reason="real excerpts not found")
def test_realistic_wikidata_dump(tmp_path):
    """Real records, distinct ids, a long tail of large entities, ~6% linked; gz and bz2 hold the same dump."""
    records = (("twenty_entities.json.bz2",), ("Q31.json", "syvb_Q1.json"))  # fewer records than the benchmark's
    paths, info = write_realistic_wikidata(DATA, tmp_path, 2_000_000, seed=1, records=records)
    text = gzip.decompress(paths["gz"].read_bytes())
    assert bz2.decompress(paths["bz2"].read_bytes()) == text and 2e6 <= len(text) < 2.5e6
    lines = text.splitlines()
    assert lines[0] == b"[" and lines[-1] == b"]" and len(lines) == info.entities + 2
    assert info.percentiles["p50"] < info.mean_bytes < info.percentiles["max"] and info.percentiles["max"] > 1e5
    assert 0.02 < info.sitelink_share < 0.12
    stats = parse_wikidata([paths["gz"]], tmp_path / "out", progress=False)
    counts = stats["counts"]
    assert counts["bad_lines"] == counts["duplicate_entities"] == 0
    assert counts["with_sitelink"] == round(info.sitelink_share * info.entities)


def realistic_info():
    """gz: igzip decodes 600 MB in 0.9 s (600 MB per CPU second), rapidgzip x2 in 1 s, x1 in 1.5 s, gzip in 2 s; the
    parse takes 1.25 s on 2 processes (ratio 0.72 of igzip, the fastest; 240 MB per core second); the pre-filter
    scans 600 MB in 0.5 s (1,200 MB/s). bz2: indexed_bzip2 x2 decodes in 10 s, the parse takes 14 s (0.71)."""
    gz = DumpFile(
        "r.json.gz",
        60_000_000,
        600_000_000,
        {"igzip": 0.9, "rapidgzip x2": 1.0, "rapidgzip x1": 1.5, "gzip": 2.0},
        {"igzip": 1.0, "rapidgzip x2": 2.0, "rapidgzip x1": 1.5, "gzip": 2.0},
    )
    bz = DumpFile("r.json.bz2", 40_000_000, 600_000_000, {"indexed_bzip2 x2": 10.0}, {"indexed_bzip2 x2": 20.0})
    info = RealisticWikidata(50_000, 12_000.0, {"p50": 6000, "p90": 24000, "p99": 90000, "max": 880000}, 0.06)
    info.files = {"gz": gz, "bz2": bz}
    info.runs = {
        "gz": StepRun("parse-wikidata", 1.25, 3.0, 3.0, 100, 200, {}),
        "bz2": StepRun("parse-wikidata", 14.0, 16.0, 30.0, 100, 200, {}),
    }
    info.prefilter_seconds = 0.5
    return info


def test_realistic_projection_arithmetic():
    info = realistic_info()
    real_mb = REAL_DUMP_ENTITIES * 12_000 / 1e6
    # 2 cores: the parse does 240 x 2 = 480 MB/s, the decoding thread 600
    assert realistic_projection(info, 2, 2) == (pytest.approx(real_mb / 480 / 3600), "parse")
    # more cores: the one decoding thread binds (600 MB/s), before the pre-filter (1,200)
    assert realistic_projection(info, 16, 2) == (pytest.approx(real_mb / 600 / 3600), "decoding")
    hours, term = realistic_projection(info, 64, 2)
    assert hours == pytest.approx(real_mb / 600 / 3600) and term == "decoding"
    info.prefilter_seconds = 1.2  # 500 MB/s: the pre-filter binds
    assert realistic_projection(info, 64, 2) == (pytest.approx(real_mb / 500 / 3600), "pre-filter")


def test_realistic_report_section(results):
    assert realistic_parts(results) == []
    results.wikidata_realistic = realistic_info()
    report = render_markdown(results)
    section = report[report.index("## parse-wikidata on realistic records") :]
    gz = next(line for line in section.splitlines() if line.startswith("| `r.json.gz` |"))
    assert "| igzip 667, rapidgzip x2 600, rapidgzip x1 400, gzip 300 |" in gz
    assert "| 0.72 of igzip | >= 0.8 | **missed** |" in gz
    bz = next(line for line in section.splitlines() if line.startswith("| `r.json.bz2` |"))
    assert "| 0.71 of indexed_bzip2 x2 | >= 0.8 | **missed** |" in bz
    assert "1,200 MB/s" in section and "1.32 TB of JSON" in section
    assert f"key search by {KEY_SEARCH}): 1,200 MB/s" in section  # which search the pre-filter's rate is of
    assert re.search(r"^\| \d+\.\d\d \(parse\) \| \d+\.\d\d \(decoding\) \| \d+\.\d\d \(decoding\) \|$", section, re.M)


def test_realistic_decoders(tmp_path):
    data = b'{"id": "Q1"},\n' * 20_000
    gz, bz = tmp_path / "x.json.gz", tmp_path / "x.json.bz2"
    gz.write_bytes(gzip.compress(data))
    bz.write_bytes(bz2.compress(data))
    measured = measure_decoders(gz, realistic_decoders(gz, 2), 1)
    assert list(measured.decompress_seconds) == ["igzip", "rapidgzip x2", "rapidgzip x1", "gzip"]
    assert measured.decompressed_bytes == len(data)
    assert list(measure_decoders(bz, realistic_decoders(bz, 2), 1).decompress_seconds) == ["indexed_bzip2 x2"]


def test_inference_texts_are_dev_paragraphs_or_whole_dev_articles(tmp_path):
    articles = tmp_path / "articles.jsonl"
    rows = [
        {"title": "A", "split": "train", "text": "Train one.\n\nTrain two.", "links": []},
        {"title": "B", "split": "dev", "text": "Dev one.\n\nDev two.", "links": []},
        {"title": "C", "split": "dev", "text": "Dev three.", "links": []},
    ]
    articles.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    assert dev_texts(articles, 10) == ["Dev one.", "Dev two.", "Dev three."]
    assert dev_texts(articles, 10, whole_articles=True) == ["Dev one.\n\nDev two.", "Dev three."]
    assert dev_texts(articles, 1, whole_articles=True) == ["Dev one.\n\nDev two."]
