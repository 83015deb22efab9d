"""Tests of the parse-wikipedia stage: real excerpts, synthetic dumps, splits, parallelism and bad input."""

import bz2
import gzip
import re
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import orjson
import pytest

import conftest
from conftest import leftovers
from wikiel.sources import wikipedia
from wikiel.sources.wikipedia import (
    DumpReader,
    Page,
    Settings,
    chunk_bounds,
    parse_wikipedia,
    redirect_target,
    split_of,
)
from wikiel.sources.wikitext import Link
from wikiel.util import InputError, OutputError, open_dump, read_json

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
EXCERPT = DATA / "wikipedia" / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
TABLES = DATA / "wikipedia" / "enwiki-table-markup.xml.bz2"
OUTPUTS = ("siteinfo.json", "redirects.tsv", "link_counts.tsv", "inlink_counts.tsv", "articles.jsonl")

SITEINFO = """  <siteinfo>
    <sitename>Wikipedia</sitename>
    <dbname>{dbname}</dbname>
    <case>{case}</case>
    <namespaces>
      <namespace key="0" case="first-letter" />
      <namespace key="6" case="first-letter">{file}</namespace>
      <namespace key="14" case="first-letter">{category}</namespace>
    </namespaces>
  </siteinfo>
"""


def page_xml(title, text, page_id=1, ns=0, redirect=None):
    redirect_tag = f"<redirect title={quoteattr(redirect)} />" if redirect else ""
    text_tag = "<text />" if text is None else f'<text xml:space="preserve">{escape(text)}</text>'
    return (
        f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{ns}</ns>\n    <id>{page_id}</id>\n"
        f"    {redirect_tag}\n    <revision>\n      <id>{page_id + 1000}</id>\n      {text_tag}\n"
        f"    </revision>\n  </page>\n"
    )


def make_dump(
    path: Path, pages, siteinfo=True, dbname="enwiki", case="first-letter", file="File", category="Category"
) -> Path:
    xml = (
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">\n'
        + (SITEINFO.format(dbname=dbname, case=case, file=file, category=category) if siteinfo else "")
        + "".join(page_xml(*page) if isinstance(page, tuple) else page_xml(**page) for page in pages)
        + "</mediawiki>\n"
    ).encode("utf8")
    if path.suffix == ".bz2":
        xml = bz2.compress(xml)
    elif path.suffix == ".gz":
        xml = gzip.compress(xml)
    path.write_bytes(xml)
    return path


def read_tsv(path: Path):
    return [line.split("\t") for line in path.read_text(encoding="utf8").splitlines()]


def read_articles(path: Path):
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data excerpt {path} is absent (expected ../shared/data beside the repository)")
    return path


@pytest.fixture(scope="module")
def excerpt_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("excerpt")
    stats = parse_wikipedia(require(EXCERPT), out, Settings(), progress=False)
    return out, stats


# --- the real excerpt -------------------------------------------------------------------------------------------


def test_real_excerpt_counts(excerpt_run):
    out, stats = excerpt_run
    counts = stats["counts"]
    assert counts["articles"] == 106
    assert counts["redirects"] == 99
    assert counts["pages"] == 206
    assert counts["other_namespace_pages"] == 1
    assert counts["articles_written"] == 106
    assert counts["train_articles"] + counts["dev_articles"] == 106
    assert counts["links"] > 20_000
    assert counts["bytes_read"] > counts["input_bytes"] > 0
    assert stats["peak_memory_mb"] > 0 and stats["seconds"] >= 0
    assert read_json(out / "stats.json")["counts"] == counts
    assert leftovers(out) == []  # no temporaries left


def test_real_excerpt_siteinfo_and_redirects(excerpt_run):
    out, _ = excerpt_run
    siteinfo = read_json(out / "siteinfo.json")
    assert (siteinfo["lang"], siteinfo["dbname"], siteinfo["case"]) == ("en", "enwiki", "first-letter")
    assert siteinfo["namespaces"]["6"] == "File" and siteinfo["namespaces"]["14"] == "Category"
    redirects = read_tsv(out / "redirects.tsv")
    assert len(redirects) == 99
    assert ["AccessibleComputing", "Computer accessibility"] in redirects
    assert redirects == sorted(redirects)
    assert all(len(row) == 2 and row[0] and row[1] for row in redirects)


def test_real_excerpt_articles(excerpt_run):
    out, _ = excerpt_run
    articles = read_articles(out / "articles.jsonl")
    with open_dump(EXCERPT) as stream:
        dump_order = [p.id for p in DumpReader(stream, EXCERPT) if isinstance(p, Page) and p.ns == 0 and not p.redirect]
    assert [a["id"] for a in articles] == dump_order
    assert articles[0]["title"] == "Anarchism"
    assert articles[0]["text"].startswith("Anarchism is a political philosophy")
    for article in articles:
        assert set(article) == {"id", "title", "split", "text", "links"}
        assert article["split"] == split_of(article["title"], 10)
        for start, end, target in article["links"]:
            assert 0 <= start < end <= len(article["text"]) and target


def test_link_counts_come_from_train_articles_only(excerpt_run):
    out, stats = excerpt_run
    articles = read_articles(out / "articles.jsonl")
    expected = Counter()
    dev_targets, train_targets = set(), set()
    for article in articles:
        for start, end, target in article["links"]:
            if article["split"] == "train":
                expected[(article["text"][start:end], target)] += 1
                train_targets.add(target)
            else:
                dev_targets.add(target)
    rows = read_tsv(out / "link_counts.tsv")
    assert rows == sorted(rows, key=lambda row: (row[0], row[1]))
    assert {(anchor, target): int(count) for anchor, target, count in rows} == expected
    assert sum(expected.values()) == stats["counts"]["train_links"]
    inlinks = {target: int(count) for target, count in read_tsv(out / "inlink_counts.tsv")}
    assert list(inlinks) == sorted(inlinks)
    assert set(inlinks) == train_targets
    assert dev_targets - train_targets, "the excerpt should have dev-only targets"
    assert not (dev_targets - train_targets) & set(inlinks)
    per_target = Counter()
    for (_, target), count in expected.items():
        per_target[target] += count
    assert inlinks == per_target


def test_table_excerpt_without_siteinfo(tmp_path):
    stats = parse_wikipedia(require(TABLES), tmp_path, Settings(), progress=False)
    assert stats["counts"]["articles"] == 5
    assert read_json(tmp_path / "siteinfo.json") == {
        "lang": "en",
        "dbname": "",
        "case": "first-letter",
        "namespaces": {},
    }
    for article in read_articles(tmp_path / "articles.jsonl"):
        assert "{|" not in article["text"] and "|}" not in article["text"]


# --- parallelism, limits, splits --------------------------------------------------------------------------------


def test_n_process_output_identical(excerpt_run, tmp_path, monkeypatch):
    monkeypatch.setattr(wikipedia, "BATCH_CHARS", 100_000)  # many batches in flight
    out, stats = excerpt_run
    parallel = parse_wikipedia(EXCERPT, tmp_path, Settings(n_process=2), progress=False)
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    assert parallel["counts"] == stats["counts"]


def test_limits_stop_writing_not_counting(excerpt_run, tmp_path):
    out, stats = excerpt_run
    limited = parse_wikipedia(EXCERPT, tmp_path, Settings(max_train_articles=5, max_dev_articles=2), progress=False)
    articles = read_articles(tmp_path / "articles.jsonl")
    assert Counter(a["split"] for a in articles) == {"train": 5, "dev": 2}
    assert articles == [a for a in read_articles(out / "articles.jsonl") if a["id"] in {x["id"] for x in articles}]
    assert limited["counts"]["articles_written"] == 7
    assert limited["counts"]["links"] == stats["counts"]["links"]
    for name in ("link_counts.tsv", "inlink_counts.tsv", "redirects.tsv"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes()


def test_split_of_is_deterministic_and_proportional():
    titles = [f"Title {i}" for i in range(20_000)]
    assert [split_of(t, 10) for t in titles] == [split_of(t, 10) for t in titles]
    share = sum(split_of(t, 10) == "dev" for t in titles) / len(titles)
    assert 0.09 < share < 0.11
    assert all(split_of(t, 0) == "train" for t in titles[:1000])
    assert all(split_of(t, 100) == "dev" for t in titles[:1000])
    dev_10 = {t for t in titles if split_of(t, 10) == "dev"}
    assert dev_10 <= {t for t in titles if split_of(t, 20) == "dev"}, "growing dev_percent only adds dev titles"


def test_split_of_matches_the_documented_formula():
    import hashlib

    for title in ("Anarchism", "Paris", "Ω", "AccessibleComputing"):
        bucket = int(hashlib.md5(title.encode("utf8")).hexdigest(), 16) % 100
        assert split_of(title, 10) == ("dev" if bucket < 10 else "train")


# --- synthetic dumps ----------------------------------------------------------------------------------------------


def test_redirects_empty_pages_and_namespaces(tmp_path):
    dump = make_dump(
        tmp_path / "dump.xml",
        [
            ("Paris", "'''Paris''' is the capital of [[France]].", 1),
            ("Lutece", "#REDIRECT [[paris#History]]", 2),
            ("Lutetia", "#redirect:[[Paris]] {{R from alternative name}}", 3),
            ("Parigi", "ignored", 4, 0, "Paris"),
            ("Empty", None, 5),
            ("Blank", "  \n", 6),
            ("Talk:Paris", "chat [[France]]", 7, 1),
            ("Redirected talk", "#REDIRECT [[Talk:Paris]]", 8, 1),
        ],
    )
    stats = parse_wikipedia(dump, tmp_path / "out", Settings(dev_percent=0), progress=False)["counts"]
    assert (stats["pages"], stats["articles"], stats["redirects"]) == (8, 1, 3)
    assert (stats["empty_pages"], stats["other_namespace_pages"]) == (2, 2)
    assert read_tsv(tmp_path / "out" / "redirects.tsv") == [
        ["Lutece", "Paris"],
        ["Lutetia", "Paris"],
        ["Parigi", "Paris"],
    ]
    assert read_tsv(tmp_path / "out" / "link_counts.tsv") == [["France", "France", "1"]]
    [article] = read_articles(tmp_path / "out" / "articles.jsonl")
    assert article == {
        "id": 1,
        "title": "Paris",
        "split": "train",
        "text": "Paris is the capital of France.",
        "links": [[24, 30, "France"]],
    }


def test_localized_dump(tmp_path):
    dump = make_dump(
        tmp_path / "dewiki.xml.bz2",
        [
            (
                "Berlin",
                "'''Berlin''' ist die [[Hauptstadt]] [[Deutschland]]s.[[Datei:B.jpg|mini|[[Foo]]]][[Kategorie:Stadt]]",
                1,
            ),
            ("Spree-Athen", "#WEITERLEITUNG [[Berlin]]", 2),
        ],
        dbname="dewiki",
        file="Datei",
        category="Kategorie",
    )
    parse_wikipedia(dump, tmp_path / "out", Settings(lang="de", dev_percent=0), progress=False)
    assert read_tsv(tmp_path / "out" / "redirects.tsv") == [["Spree-Athen", "Berlin"]]
    [article] = read_articles(tmp_path / "out" / "articles.jsonl")
    assert article["text"] == "Berlin ist die Hauptstadt Deutschlands."
    assert [target for _, _, target in article["links"]] == ["Hauptstadt", "Deutschland"]
    assert read_json(tmp_path / "out" / "siteinfo.json")["namespaces"]["6"] == "Datei"


def test_case_sensitive_wiki(tmp_path):
    dump = make_dump(
        tmp_path / "wikt.xml.gz",
        [("word", "see [[other]]", 1), ("alias", "#REDIRECT [[word]]", 2)],
        dbname="enwiktionary",
        case="case-sensitive",
    )
    parse_wikipedia(dump, tmp_path / "out", Settings(dev_percent=0), progress=False)
    assert read_tsv(tmp_path / "out" / "redirects.tsv") == [["alias", "word"]]
    assert read_tsv(tmp_path / "out" / "inlink_counts.tsv") == [["other", "1"]]


def test_multistream_bz2(tmp_path):
    """pages-articles-multistream dumps are concatenated bz2 streams (head, blocks of pages, tail)."""
    xml = make_dump(tmp_path / "plain.xml", [("A", "[[B]] x", 1), ("B", "[[A]] y", 2), ("C", "#REDIRECT [[A]]", 3)])
    head, rest = xml.read_text(encoding="utf8").split("  <page>", 1)
    pages, tail = ("  <page>" + rest).rsplit("</mediawiki>", 1)
    dump = tmp_path / "multistream.xml.bz2"
    dump.write_bytes(b"".join(bz2.compress(part.encode("utf8")) for part in (head, pages, "</mediawiki>" + tail)))
    counts = parse_wikipedia(dump, tmp_path / "out", Settings(), progress=False)["counts"]
    assert (counts["articles"], counts["redirects"]) == (2, 1)


def test_redirect_target():
    assert redirect_target("#REDIRECT [[Computer accessibility]]") == "Computer accessibility"
    assert redirect_target("  #Redirect : [[foo_bar#Baz|x]]") == "Foo bar"
    assert redirect_target("#WEITERLEITUNG [[Ziel]]", "de") == "Ziel"
    assert redirect_target("#WEITERLEITUNG [[Ziel]]", "en") is None
    assert redirect_target("Text about #REDIRECT [[X]]") is None


# --- multistream dumps split by their index; spilling counts to disk -------------------------------------------

# the only counts that depend on how the dump was read
RUN_DEPENDENT = {"index_chunks", "scanned_ranges", "spilled_runs"}


@pytest.fixture(scope="module")
def world(make_world):
    """A generated multistream dump (~9 bz2 streams of 100 pages between a header and a tail) and its index."""
    return make_world(n_entities=2000, n_articles=300, seed=3)


@pytest.fixture(scope="module")
def world_run(world, tmp_path_factory):
    """The reference: one process, one decompression stream, everything in memory."""
    out = tmp_path_factory.mktemp("world_run")
    return out, parse_wikipedia(world["wikipedia"], out, Settings(), progress=False)


def assert_same_run(out, stats, reference, other_file=False):
    """The same outputs and counts as the reference run (`other_file`: of the same XML, compressed otherwise)."""
    ref_out, ref_stats = reference
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (ref_out / name).read_bytes(), name
    counts, ref_counts = run_independent(stats["counts"]), run_independent(ref_stats["counts"])
    if other_file:
        del counts["input_bytes"], ref_counts["input_bytes"]
    assert counts == ref_counts
    assert leftovers(out) == []  # no temporaries left


def run_independent(counts):
    return {key: value for key, value in counts.items() if key not in RUN_DEPENDENT}


def index_lines(world):
    return bz2.decompress(world["wikipedia_index"].read_bytes()).decode("utf8").splitlines(keepends=True)


def write_index(path: Path, lines) -> Path:
    path.write_bytes(bz2.compress("".join(lines).encode("utf8")))
    return path


def stream_offsets(lines):
    return sorted({int(line.split(":", 1)[0]) for line in lines})


@pytest.mark.parametrize("n_process, max_counter_entries", [(2, 2_000_000), (2, 10), (1, 10)])
def test_multistream_and_spilling_give_identical_outputs(
    world, world_run, tmp_path, monkeypatch, n_process, max_counter_entries
):
    monkeypatch.setattr(wikipedia, "CHUNK_BYTES", 30_000)  # several streams per chunk, several chunks
    settings = Settings(n_process=n_process, max_counter_entries=max_counter_entries)
    stats = parse_wikipedia(world["wikipedia"], tmp_path, settings, progress=False, index=world["wikipedia_index"])
    assert_same_run(tmp_path, stats, world_run)
    counts = stats["counts"]
    assert (counts["index_chunks"] > 1) == (n_process > 1), "n_process 1 reads one stream"
    assert (counts["spilled_runs"] > 64) == (max_counter_entries == 10), "many runs: merged in two rounds"


def test_chunk_bounds(world):
    dump, index = world["wikipedia"], world["wikipedia_index"]
    offsets = stream_offsets(index_lines(world))
    size = dump.stat().st_size
    assert len(offsets) > 5
    assert chunk_bounds(index, dump, 1) == offsets + [size]
    assert chunk_bounds(index, dump, 10**9) == [offsets[0], size]
    bounds = chunk_bounds(index, dump, 50_000)
    assert bounds[0] == offsets[0] and bounds[-1] == size and set(bounds[:-1]) <= set(offsets)
    assert all(b - a >= 50_000 for a, b in zip(bounds[:-2], bounds[1:-1]))


def test_multistream_with_the_last_stream_missing(world, tmp_path):
    data = world["wikipedia"].read_bytes()
    tail = len(bz2.compress(b"</mediawiki>\n", 9))  # the generator's last stream
    assert bz2.decompress(data[-tail:]) == b"</mediawiki>\n"
    dump = tmp_path / "cut.xml.bz2"
    dump.write_bytes(data[:-tail])
    with pytest.raises(InputError, match=r"cut\.xml\.bz2 \(bz2 streams at bytes .*the XML ends in the middle"):
        parse_wikipedia(
            dump,
            tmp_path / "out",
            Settings(n_process=2, max_counter_entries=10),
            progress=False,
            index=world["wikipedia_index"],
        )
    assert_no_outputs(tmp_path / "out")


def corrupt_index(lines, kind, dump_size):
    """Index lines corrupted in one way, the (1-based) number of the bad line and the expected message."""
    offsets = stream_offsets(lines)
    third = next(i for i, line in enumerate(lines) if line.startswith(f"{offsets[2]}:"))
    return {
        "decreasing": (
            lines[:third] + [f"{offsets[0]}:999:Back\n"] + lines[third:],
            third + 1,
            f"offset {offsets[0]:,} is not after the previous stream at {offsets[1]:,}",
        ),
        "beyond": (
            lines[:-1] + [f"{dump_size + 10}:999:Beyond\n"],
            len(lines),
            rf"offset {dump_size + 10:,} is beyond the end of .*multistream\.xml\.bz2 \({dump_size:,} bytes\)",
        ),
        "garbage": (lines[:5] + ["not an index line\n"] + lines[5:], 6, "not an 'offset:page_id:title' line"),
        "zero": (["0:1:Header\n"] + lines, 1, "offset 0 is not after the previous stream at 0"),
        "empty": ([], None, "lists no pages"),
    }[kind]


@pytest.mark.parametrize("kind", ["decreasing", "beyond", "garbage", "zero", "empty"])
def test_corrupt_index_is_an_input_error(world, tmp_path, kind):
    lines, line_no, message = corrupt_index(index_lines(world), kind, world["wikipedia"].stat().st_size)
    index = write_index(tmp_path / "index.txt.bz2", lines)
    where = f":{line_no}" if line_no else ""
    with pytest.raises(InputError, match=rf"index\.txt\.bz2{where}: {message}.*fetch step"):
        parse_wikipedia(world["wikipedia"], tmp_path / "out", Settings(n_process=2), progress=False, index=index)
    assert_no_outputs(tmp_path / "out")


@pytest.mark.parametrize("shift_stream", [0, 4])
def test_index_of_another_dump(world, tmp_path, monkeypatch, shift_stream):
    """Offsets that are not stream starts fail to decompress, in this process (the header) or in a worker."""
    monkeypatch.setattr(wikipedia, "CHUNK_BYTES", 1)
    lines = index_lines(world)
    shifted = stream_offsets(lines)[shift_stream]
    index = write_index(
        tmp_path / "index.txt.bz2",
        [
            f"{int(offset) + 1}:{rest}" if int(offset) == shifted else f"{offset}:{rest}"
            for offset, rest in (line.split(":", 1) for line in lines)
        ],
    )
    with pytest.raises(
        InputError,
        match=r"the bz2 stream at byte [\d,]+ (cannot be decompressed|is cut off at byte)"
        r".*index does not belong",
    ):
        parse_wikipedia(world["wikipedia"], tmp_path / "out", Settings(n_process=2), progress=False, index=index)
    assert_no_outputs(tmp_path / "out")


def test_damaged_stream_inside_a_range(world, tmp_path):
    """bz2.decompress would silently drop the streams after a damaged one: here it is an error that locates it."""
    offsets = stream_offsets(index_lines(world))
    data = bytearray(world["wikipedia"].read_bytes())
    data[(offsets[2] + offsets[3]) // 2] ^= 0xFF
    dump = tmp_path / "damaged.xml.bz2"
    dump.write_bytes(data)
    with pytest.raises(
        InputError,
        match=rf"damaged\.xml\.bz2 \(byte {offsets[2]}\): the bz2 stream at byte "
        rf"{offsets[2]:,} cannot be decompressed",
    ):
        parse_wikipedia(dump, tmp_path / "out", Settings(n_process=2), progress=False, index=world["wikipedia_index"])
    assert_no_outputs(tmp_path / "out")


def test_index_without_the_first_page_stream(world, tmp_path):
    lines = index_lines(world)
    first = stream_offsets(lines)[0]
    index = write_index(tmp_path / "index.txt.bz2", [line for line in lines if not line.startswith(f"{first}:")])
    with pytest.raises(
        InputError,
        match=r"multistream\.xml\.bz2: bytes 0-.* before the first stream of the index, "
        r"hold pages",
    ):
        parse_wikipedia(world["wikipedia"], tmp_path / "out", Settings(n_process=2), progress=False, index=index)
    assert_no_outputs(tmp_path / "out")


def test_index_is_ignored_where_it_cannot_help(world, tmp_path):
    plain = tmp_path / "plain.xml"
    plain.write_bytes(bz2.decompress(world["wikipedia"].read_bytes()))
    stats = parse_wikipedia(
        plain, tmp_path / "plain", Settings(n_process=2), progress=False, index=world["wikipedia_index"]
    )
    assert stats["counts"]["index_chunks"] == 0 and stats["counts"]["articles"] == 300


# --- bad input ------------------------------------------------------------------------------------------------------


def assert_no_outputs(out: Path):
    assert not out.exists() or not list(out.iterdir()), list(out.iterdir())


@pytest.mark.parametrize("suffix", [".xml", ".xml.bz2", ".xml.gz"])
def test_truncated_dump(tmp_path, suffix):
    full = make_dump(tmp_path / "full.xml", [("Paris", "x [[France]] " * 2000, i) for i in range(1, 30)])
    data = full.read_bytes()[: len(full.read_bytes()) * 2 // 3]
    data = {".xml": data, ".xml.bz2": bz2.compress(data), ".xml.gz": gzip.compress(data)}[suffix]
    dump = tmp_path / f"cut{suffix}"
    dump.write_bytes(data)
    with pytest.raises(InputError, match=r"cut\.xml.*:\d+: the XML ends in the middle") as err:
        parse_wikipedia(dump, tmp_path / "out", progress=False)
    assert err.value.line > 1 and "fetch" in str(err.value)
    assert_no_outputs(tmp_path / "out")


def test_truncated_compressed_stream(tmp_path):
    data = bz2.compress(make_dump(tmp_path / "full.xml", [("Paris", "x " * 100_000, 1)]).read_bytes())
    dump = tmp_path / "cut.xml.bz2"
    dump.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.xml.bz2"):
        parse_wikipedia(dump, tmp_path / "out", progress=False)
    assert_no_outputs(tmp_path / "out")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"hello, this is not XML\n", r":1: is not XML"),
        (b'<?xml version="1.0"?>\n<html><body/></html>\n', "not <mediawiki>"),
        (b"<mediawiki><page><title>A</title></pag></mediawiki>", "malformed XML"),
    ],
)
def test_bad_files(tmp_path, content, message):
    dump = tmp_path / "bad.xml"
    dump.write_bytes(content)
    with pytest.raises(InputError, match=message):
        parse_wikipedia(dump, tmp_path / "out", progress=False)
    assert_no_outputs(tmp_path / "out")


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        parse_wikipedia(tmp_path, tmp_path / "out", progress=False)
    with pytest.raises(InputError, match="does not exist"):
        parse_wikipedia(tmp_path / "missing.xml.bz2", tmp_path / "out", progress=False)


def test_no_articles_is_an_output_error(tmp_path):
    dump = make_dump(tmp_path / "dump.xml", [("A", "#REDIRECT [[B]]", 1), ("Talk:B", "x", 2, 1)])
    with pytest.raises(OutputError, match="no articles.*--dump"):
        parse_wikipedia(dump, tmp_path / "out", progress=False)
    assert_no_outputs(tmp_path / "out")


def test_error_in_parallel_mode(tmp_path):
    full = make_dump(tmp_path / "full.xml", [("Paris", "x [[France]] " * 2000, i) for i in range(1, 30)])
    dump = tmp_path / "cut.xml"
    dump.write_bytes(full.read_bytes()[:-5000])
    with pytest.raises(InputError, match="ends in the middle"):
        parse_wikipedia(dump, tmp_path / "out", Settings(n_process=2), progress=False)
    assert_no_outputs(tmp_path / "out")


# --- the CLI --------------------------------------------------------------------------------------------------------


def run_cli(*args, cwd=None):
    return conftest.run_cli("parse-wikipedia", *args, cwd=cwd)


def test_cli_with_manifest(tmp_path):
    (tmp_path / "assets").mkdir()
    size = make_dump(tmp_path / "assets" / "wiki.xml.bz2", [("Paris", "[[France]]", 1)]).stat().st_size
    manifest = tmp_path / "assets" / "manifest.json"
    manifest.write_bytes(orjson.dumps({"wikipedia": {"path": "assets/wiki.xml.bz2", "bytes": size}}))
    result = run_cli("--manifest", "assets/manifest.json", "corpus/wikipedia", "--dev-percent", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 articles" in result.stdout
    assert read_tsv(tmp_path / "corpus" / "wikipedia" / "inlink_counts.tsv") == [["France", "1"]]

    manifest.write_bytes(orjson.dumps({"wikipedia": {"path": "assets/wiki.xml.bz2", "bytes": size + 1}}))
    result = run_cli("--manifest", manifest, tmp_path / "out2", cwd=tmp_path)
    assert result.returncode == 1 and "manifest says" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dump", "missing.xml"], "does not exist"),
        ([], "exactly one of --dump and --manifest"),
        (["--dump", "x", "--manifest", "y"], "exactly one of --dump and --manifest"),
        (["--manifest", "nothing.json"], "manifest not found"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, args, message):
    result = run_cli(*args, tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def world_manifest(world, tmp_path, index="index"):
    entries = {
        "wikipedia": {"path": str(world["wikipedia"]), "bytes": world["wikipedia"].stat().st_size},
        "wikipedia_index": None,
    }
    if index == "index":
        entries["wikipedia_index"] = {"path": str(world["wikipedia_index"])}
    elif index == "missing":
        entries["wikipedia_index"] = {"path": str(tmp_path / "deleted-index.txt.bz2")}
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(orjson.dumps(entries))
    return manifest


@pytest.mark.parametrize("index", ["index", None, "missing"])
def test_cli_reads_the_index_from_the_manifest(world, world_run, tmp_path, index):
    """The manifest's index splits the dump; without one (null or deleted) the dump is read as one stream."""
    out = tmp_path / "out"
    result = run_cli(
        "--manifest", world_manifest(world, tmp_path, index), out, "--n-process", "2", "--max-counter-entries", "50"
    )
    assert result.returncode == 0, result.stderr
    stats = read_json(out / "stats.json")
    assert_same_run(out, stats, world_run)
    assert (stats["counts"]["index_chunks"] > 0) == (index == "index")
    assert ("WARNING" in result.stderr and "deleted-index" in result.stderr) == (index == "missing")


def test_cli_index_with_dump(world, tmp_path):
    result = run_cli(
        "--dump", world["wikipedia"], "--index", world["wikipedia_index"], tmp_path / "out", "--n-process", "2"
    )
    assert result.returncode == 0, result.stderr
    assert read_json(tmp_path / "out" / "stats.json")["counts"]["index_chunks"] > 0
    result = run_cli(
        "--manifest", world_manifest(world, tmp_path), "--index", world["wikipedia_index"], tmp_path / "out2"
    )
    assert result.returncode == 1 and "--index goes with --dump" in result.stderr


# --- multistream dumps without their index: stream starts found by scanning; on a Dask cluster ---------------------


def scanned_run(dump, out, monkeypatch, chunk_bytes=30_000, **settings):
    monkeypatch.setattr(wikipedia, "CHUNK_BYTES", chunk_bytes)
    return parse_wikipedia(dump, out, Settings(n_process=2, **settings), progress=False)


def test_stream_starts_are_found_by_scanning(world):
    """The stream starts of a multistream dump: the header, the page streams of the index, the closing tail; found
    whatever the scan's block size (a start may straddle two blocks)."""
    dump = world["wikipedia"]
    tail = len(bz2.compress(b"</mediawiki>\n", 9))
    expected = [0, *stream_offsets(index_lines(world)), dump.stat().st_size - tail]
    for block in (7, 1000, 1 << 20):
        assert list(wikipedia.stream_starts(dump, block)) == expected


def test_stream_start_magic_inside_compressed_data_is_not_a_start(tmp_path):
    """A stream header and block magic inside a stream's data, not after an end-of-stream marker, is skipped."""
    first, second = bz2.compress(b"a" * 5000 + b"b" * 5000), bz2.compress(b"c")
    planted = first[:20] + b"BZh91AY&SY" + first[30:]
    dump = tmp_path / "planted.bz2"
    dump.write_bytes(planted + second)
    assert list(wikipedia.stream_starts(dump, 16)) == [0, len(planted)]


def test_multistream_without_index_uses_the_workers(world, world_run, tmp_path, monkeypatch, capsys):
    stats = scanned_run(world["wikipedia"], tmp_path, monkeypatch, max_counter_entries=50)
    assert_same_run(tmp_path, stats, world_run)
    assert stats["counts"]["scanned_ranges"] > 3 and stats["counts"]["index_chunks"] == 0
    assert "WARNING" not in capsys.readouterr().err


def test_false_stream_start_falls_back_to_one_stream(world, world_run, tmp_path, monkeypatch, capsys):
    """A candidate that is not a stream start (here: inside the fifth page stream): the ranges before it come from
    the workers, the rest of the dump is read as one stream; the outputs are the same."""
    offsets = stream_offsets(index_lines(world))
    false_start = (offsets[4] + offsets[5]) // 2
    real = wikipedia.stream_starts
    monkeypatch.setattr(
        wikipedia, "stream_starts", lambda dump, **kw: (o for o in sorted([*real(dump, **kw), false_start]))
    )
    stats = scanned_run(world["wikipedia"], tmp_path, monkeypatch, chunk_bytes=1)
    assert_same_run(tmp_path, stats, world_run)
    # the ranges from offsets[0] to offsets[4]; the stream at offsets[4] goes on after the false start
    assert stats["counts"]["scanned_ranges"] == 4
    assert f"from byte {offsets[4]:,}, as one stream" in capsys.readouterr().err


def test_streams_that_cut_pages_fall_back_to_one_stream(world, world_run, tmp_path, monkeypatch, capsys):
    """A file of bz2 streams that do not hold whole pages (as pbzip2 writes, here after two whole page streams):
    the outputs are the same as reading it as one stream."""
    data = world["wikipedia"].read_bytes()
    offsets = stream_offsets(index_lines(world))
    rest = bz2.decompress(data[offsets[2] :])
    dump = tmp_path / "pbzip2.xml.bz2"
    dump.write_bytes(data[: offsets[2]] + b"".join(bz2.compress(rest[i : i + 7000]) for i in range(0, len(rest), 7000)))
    stats = scanned_run(dump, tmp_path / "out", monkeypatch, chunk_bytes=1)
    assert_same_run(tmp_path / "out", stats, world_run, other_file=True)
    assert stats["counts"]["scanned_ranges"] == 2
    assert "do not hold whole pages" in capsys.readouterr().err


def test_no_second_stream_near_the_start_is_read_as_one_stream(world, world_run, tmp_path, monkeypatch):
    """The scan looks for a second stream in the first SCAN_PROBE bytes only (a 22 GB single stream is not read)."""
    header_stream = stream_offsets(index_lines(world))[0]
    scanned = []
    real = wikipedia.stream_starts
    monkeypatch.setattr(wikipedia, "stream_starts", lambda dump, **kw: scanned.append(kw) or real(dump, **kw))
    monkeypatch.setattr(wikipedia, "SCAN_PROBE", header_stream - 1)
    stats = scanned_run(world["wikipedia"], tmp_path, monkeypatch)
    assert_same_run(tmp_path, stats, world_run)
    assert stats["counts"]["scanned_ranges"] == 0 and scanned == [{"limit": header_stream - 1}]
    assert list(real(world["wikipedia"], 100, limit=header_stream + 10)) == [0, header_stream]


def test_one_stream_bz2_is_read_as_one_stream(world, world_run, tmp_path, monkeypatch):
    dump = tmp_path / "one.xml.bz2"
    dump.write_bytes(bz2.compress(bz2.decompress(world["wikipedia"].read_bytes())))
    stats = scanned_run(dump, tmp_path / "out", monkeypatch)
    assert_same_run(tmp_path / "out", stats, world_run, other_file=True)
    assert stats["counts"]["scanned_ranges"] == 0


def test_truncated_multistream_without_index(world, tmp_path, monkeypatch):
    data = world["wikipedia"].read_bytes()
    dump = tmp_path / "cut.xml.bz2"
    dump.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        InputError, match=rf"cut\.xml\.bz2 \(byte [\d]+\): the bz2 stream .* cut off at byte {len(data) // 2:,}"
    ):
        scanned_run(dump, tmp_path / "out", monkeypatch)
    assert_no_outputs(tmp_path / "out")


@pytest.mark.parametrize("index", [True, False])
def test_dask_run_matches_the_local_run(world, world_run, cluster, tmp_path, monkeypatch, index):
    monkeypatch.setattr(wikipedia, "CHUNK_BYTES", 30_000)
    settings = Settings(n_process=1, scheduler=cluster, max_counter_entries=50)
    stats = parse_wikipedia(
        world["wikipedia"], tmp_path, settings, progress=False, index=world["wikipedia_index"] if index else None
    )
    assert_same_run(tmp_path, stats, world_run)
    assert stats["counts"]["index_chunks" if index else "scanned_ranges"] > 3


def test_dask_piece_failure_names_its_bytes(world, cluster, tmp_path):
    offsets = stream_offsets(index_lines(world))
    data = bytearray(world["wikipedia"].read_bytes())
    data[(offsets[2] + offsets[3]) // 2] ^= 0xFF
    dump = tmp_path / "damaged.xml.bz2"
    dump.write_bytes(data)
    result = run_cli("--dump", dump, tmp_path / "out", "--scheduler", cluster)
    assert result.returncode == 1
    assert re.fullmatch(
        rf"ERROR: .*damaged\.xml\.bz2 \(byte {offsets[2]}\): the bz2 stream at byte {offsets[2]:,} cannot be "
        r"decompressed .*",
        result.stderr.splitlines()[-1],
    ), result.stderr
    assert "Traceback" not in result.stderr
    assert_no_outputs(tmp_path / "out")


def test_link_pairs_skip_what_a_tsv_cannot_hold():
    links = [Link(0, 1, "T", "a"), Link(0, 1, "T\x05", "b"), Link(0, 1, "U", "c\td"), Link(0, 1, "V", "e")]
    assert wikipedia._link_pairs(links) == ["a\tT", "e\tV"]
    assert wikipedia._link_pairs([links[0], links[3]]) == ["a\tT", "e\tV"]


_STREAMS = [bz2.compress(b"<page>%d</page>" % i * 500) for i in range(3)]


def _fast_decoder_cases():
    data = b"".join(_STREAMS)
    return [
        wikipedia._fast_decompress(data),
        wikipedia._fast_decompress(data[:-1]),  # cut
        wikipedia._fast_decompress(_STREAMS[0] + b"junk" + _STREAMS[1]),  # bytes that are no stream
        wikipedia._fast_decompress(data + b"junk"),
        wikipedia._fast_decompress(data[10:]),  # not a stream start
    ]


def test_fast_range_decoder_takes_whole_streams_only_and_falls_back_quietly(capfd, tmp_path):
    """The workers' indexed_bzip2 path (`_fast_decompress`), in a forked process with no other thread (as a pool
    worker): the data of whole streams, else None (the caller's bz2 pass then reports the damage), with nothing
    written to stderr. In a process with another thread it is not used (its warnings could not be silenced)."""
    import multiprocessing
    import threading

    with multiprocessing.get_context("fork").Pool(1) as pool:
        results = pool.apply(_fast_decoder_cases)
    assert results == [b"".join(map(bz2.decompress, _STREAMS)), None, None, None, None]
    assert capfd.readouterr().err == ""
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert wikipedia._fast_decompress(b"".join(_STREAMS)) is None
    finally:
        release.set()
        other.join()
    junk = tmp_path / "junk.bz2"
    junk.write_bytes(_STREAMS[0] + b"junk" + _STREAMS[1])
    with pytest.raises(InputError, match=f"the bz2 stream at byte {len(_STREAMS[0])} cannot be decompressed"):
        wikipedia._decompress_range(junk, 0, junk.stat().st_size)
