"""The `check` step: every asset of the manifest present, complete, of the right format, wiki and date."""

import bz2
import codecs
import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

import conftest
from wikiel.sources import check
from wikiel.sources.check import BZ2_STREAM_START, HEAD_BYTES, check_assets, decompressed_head, dump_date_of
from wikiel.sources.fetch import use_excerpts, write_manifest
from wikiel.sources.wikidata import parse_wikidata
from wikiel.sources.wikipedia import parse_wikipedia
from wikiel.util import InputError

PROJECT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT.parent / "shared" / "data"


@pytest.fixture(scope="module")
def world(make_world):
    return make_world(n_entities=400, n_articles=80, seed=0)


@pytest.fixture
def assets(world, tmp_path):
    """Copies of the world's three files: key -> path (under tmp_path/assets/dumps)."""
    dumps = tmp_path / "assets" / "dumps"
    dumps.mkdir(parents=True)
    return {key: Path(shutil.copy(path, dumps / path.name)) for key, path in world.items()}


def manifest_of(files, lang="en", dump_date=None, source="world"):
    """Write assets/manifest.json for the files (sizes and sha1 as they are now)."""
    out = files["wikipedia"].parents[1]
    write_manifest(out, source, lang, dump_date, [files["wikidata"]], files["wikipedia"], files.get("wikipedia_index"))
    return out / "manifest.json"


def problems(manifest, **kwargs):
    """key -> problem text of the assets that fail."""
    return {r.key: str(r.problem) for r in check_assets(manifest, **kwargs) if r.problem}


def run_cli(*args):
    return conftest.run_cli("check", *args, timeout=120)


def test_world_assets_pass(assets):
    results = check_assets(manifest_of(assets))
    assert [r.key for r in results] == ["wikidata", "wikipedia", "wikipedia_index"]
    assert all(r.problem is None for r in results)
    assert "Wikidata entity JSON" in results[0].summary
    assert "bz2, end intact, enwiki XML export (MediaWiki" in results[1].summary
    assert "dump date latest" in results[2].summary


def test_cli_prints_one_ok_line_per_asset(assets):
    proc = run_cli(manifest_of(assets), "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(":")[:2] for line in lines] == [
        ["OK", " wikidata"],
        ["OK", " wikipedia"],
        ["OK", " wikipedia_index"],
    ]
    assert proc.stderr == ""


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="the real excerpts (../shared/data) are not here")
def test_real_excerpts_pass(tmp_path):
    use_excerpts(tmp_path, "en", SHARED_DATA)
    results = check_assets(tmp_path / "manifest.json", lang="en")
    assert len(results) == 7 and all(r.problem is None for r in results), results


def test_missing_manifest_says_how_to_get_one(tmp_path):
    proc = run_cli(tmp_path / "assets" / "manifest.json", "--lang", "de", "--dump-date", "20240101")
    assert proc.returncode != 0
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"ERROR: {tmp_path / 'assets' / 'manifest.json'}: does not exist")
    assert "spacy project run fetch" in line and "--vars.source dumps" in line
    assert "--vars.wikidata_dump FILE --vars.wikipedia_dump FILE" in line
    assert str(tmp_path / "assets" / "dumps" / "dewiki-20240101-pages-articles-multistream.xml.bz2") in line


def test_cli_names_each_problem_on_one_line(assets):
    manifest = manifest_of(assets)
    assets["wikidata"].unlink()
    assets["wikipedia_index"].write_bytes(b"")
    proc = run_cli(manifest)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert proc.stdout.startswith("OK: wikipedia: ")
    errors = proc.stderr.splitlines()
    assert len(errors) == 3 and all(line.startswith("ERROR: ") for line in errors)
    assert errors[0].startswith(f"ERROR: wikidata: {assets['wikidata']}: does not exist")
    assert errors[1].startswith(f"ERROR: wikipedia_index: {assets['wikipedia_index']}: has 0 bytes, the manifest")
    assert "2 problem(s)" in errors[2]


def flip(path, start, n=16):
    data = bytearray(path.read_bytes())
    data[start : start + n] = bytes(b ^ 0xFF for b in data[start : start + n])
    path.write_bytes(bytes(data))


def cut(path, n):
    path.write_bytes(path.read_bytes()[:n])


def last_stream_start(path):
    return [match.start() for match in BZ2_STREAM_START.finditer(path.read_bytes())][-1]


# (what is wrong, the asset it breaks, a change before the manifest is written, one after, the expected problem)
BROKEN = [
    ("missing", "wikipedia", None, Path.unlink, "does not exist"),
    ("directory", "wikidata", None, lambda p: (p.unlink(), p.mkdir()), "is a directory, not a dump file"),
    ("shorter", "wikipedia", None, lambda p: cut(p, 1000), "has 1,000 bytes, the manifest says"),
    ("changed", "wikidata", None, lambda p: flip(p, 5000), "has another sha1 than the manifest says"),
    ("truncated gz", "wikidata", lambda p: cut(p, 3000), None, "(byte 3000): ends inside a gz stream"),
    ("truncated bz2", "wikipedia_index", lambda p: cut(p, 1500), None, "ends inside a bz2 stream: it is truncated"),
    ("corrupt bz2", "wikipedia", lambda p: flip(p, 100), None, "is not valid bz2 data"),
    # A file cut short of the size the manifest was written with: only its end shows it.
    (
        "cut inside the last stream",
        "wikipedia",
        lambda p: cut(p, p.stat().st_size - 100),
        None,
        "ends inside its last bz2 stream: it is truncated",
    ),
    (
        "cut between streams",
        "wikipedia",
        lambda p: cut(p, last_stream_start(p)),
        None,
        "does not end with </mediawiki>: it is cut short",
    ),
    ("empty", "wikidata", lambda p: p.write_bytes(b""), None, ": is empty"),
    (
        "not entities",
        "wikidata",
        lambda p: p.write_bytes(gzip.compress(b'[\n{"a": 1},\n]\n')),
        None,
        "holds no Wikidata entity",
    ),
    (
        "bz2 named .gz",
        "wikidata",
        lambda p: p.write_bytes(bz2.compress(gzip.decompress(p.read_bytes()))),
        None,
        "is named .gz but its content is bz2",
    ),
    (
        "not an index",
        "wikipedia_index",
        lambda p: p.write_bytes(bz2.compress(b"10:Foo\n")),
        None,
        ":1: is not a multistream index: b'10:Foo' is not an offset:page_id:title line",
    ),
    (
        "index of another dump",
        "wikipedia_index",
        lambda p: p.write_bytes(bz2.compress(b"12345:10:Foo\n")),
        None,
        ":1: does not belong to",
    ),
]


@pytest.mark.parametrize(
    "key, before, after, expected", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN]
)
def test_broken_asset(assets, key, before, after, expected):
    if before:
        before(assets[key])
    manifest = manifest_of(assets)
    if after:
        after(assets[key])
    found = problems(manifest)
    assert list(found) == [key]
    assert found[key].startswith(str(assets[key])) and expected in found[key]


def test_xml_given_as_wikidata(assets):
    found = problems(manifest_of({**assets, "wikidata": assets["wikipedia"]}))
    assert "is XML (a Wikipedia dump?), not Wikidata entity JSON" in found["wikidata"]


def test_wikidata_given_as_wikipedia(assets):
    found = problems(manifest_of({**assets, "wikipedia": assets["wikidata"], "wikipedia_index": None}))
    assert list(found) == ["wikipedia"]
    assert "is JSON (the Wikidata dump?), not a MediaWiki XML export" in found["wikipedia"]


def test_dump_of_another_wiki(assets):
    found = problems(manifest_of(assets, lang="de"))
    assert list(found) == ["wikipedia"]
    assert "is the enwiki dump, the manifest's lang 'de' needs dewiki" in found["wikipedia"]


def test_manifest_of_other_vars(assets):
    manifest = manifest_of(assets, source="dumps", dump_date="latest")
    assert problems(manifest, lang="en", dump_date="latest") == {}
    assert "vars.lang is 'fr'" in problems(manifest, lang="fr")["manifest"]
    assert "vars.dump_date is '20240101'" in problems(manifest, dump_date="20240101")["manifest"]


def test_dump_date_from_file_name_must_match_manifest(assets):
    dated = assets["wikidata"].with_name("wikidata-20240101-all.json.gz")
    assets["wikidata"].rename(dated)
    found = problems(manifest_of({**assets, "wikidata": dated}, source="dumps", dump_date="20240120"))
    assert list(found) == ["wikidata"]
    assert "is from 20240101, the manifest says 20240120" in found["wikidata"]


@pytest.mark.parametrize(
    "name, date",
    [
        ("enwiki-20240101-pages-articles-multistream.xml.bz2", "20240101"),
        ("enwiki-20240101-pages-articles-multistream-index.txt.bz2", "20240101"),
        ("wikidata-20240101-all.json.gz", "20240101"),
        ("latest-all.json.gz", "latest"),
        ("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2", "latest"),
        ("zh_min_nanwiki-20231120-pages-articles-multistream.xml.bz2", "20231120"),
    ],
)
def test_dump_date_of(name, date):
    assert dump_date_of(name) == date


def test_head_follows_concatenated_streams(assets, tmp_path):
    kind, head = decompressed_head(assets["wikipedia"])  # a small header stream, then streams of pages
    assert kind == "bz2" and len(head) == HEAD_BYTES and b"<page>" in head
    members = tmp_path / "members.json.gz"
    members.write_bytes(gzip.compress(b"[\n") + gzip.compress(b'{"id": "Q1", "labels": {}},\n]\n'))
    assert decompressed_head(members) == ("gz", b'[\n{"id": "Q1", "labels": {}},\n]\n')


# --- complete Wikidata dumps, checked from their end ---------------------------------------------------------------


def put_wikidata(assets, data):
    """Replace the world's Wikidata dump by `data`, named by its compression; returns its path."""
    assets["wikidata"].unlink(missing_ok=True)
    suffix = {b"\x1f\x8b": ".gz", b"BZ": ".bz2"}.get(data[:2], "")
    assets["wikidata"] = assets["wikidata"].with_name(f"latest-all.json{suffix}")
    assets["wikidata"].write_bytes(data)
    return assets["wikidata"]


def dump_lines(n=300, description=lambda i: f"thing {i}"):
    """A Wikidata dump in the real layout: `[`, one entity per line ending in `,` (the last without), `]`."""
    items = [
        json.dumps({"type": "item", "id": f"Q{i}", "labels": {}, "descriptions": {"en": description(i)}, "claims": {}})
        for i in range(1, n)
    ]
    return [b"[\n", *[f"{line},\n".encode() for line in items[:-1]], f"{items[-1]}\n".encode(), b"]\n"]


def compressed_parts(parts, kind):
    compress = {"gz": gzip.compress, "bz2": bz2.compress}[kind]
    return b"".join(compress(b"".join(part)) for part in parts)


LINES = dump_lines()
HALF = len(LINES) // 2
TRUNCATED_WIKIDATA = {
    "plain without ]": b"".join(LINES[:-1]),
    "gz cut between members": compressed_parts([LINES[:HALF]], "gz"),
    "bz2 cut between streams": compressed_parts([LINES[:10], LINES[10:HALF]], "bz2"),
    "gz recompressed after a cut": gzip.compress(b"".join(LINES[:HALF])),
    "bz2 recompressed after a cut": bz2.compress(b"".join(LINES[:HALF])),
}


@pytest.mark.parametrize("case", list(TRUNCATED_WIKIDATA))
def test_wikidata_array_not_closed(assets, case):
    path = put_wikidata(assets, TRUNCATED_WIKIDATA[case])
    found = problems(manifest_of(assets))
    assert list(found) == ["wikidata"]
    assert found["wikidata"].startswith(f"{path} (byte {path.stat().st_size}): is truncated: its JSON array")
    # parse-wikidata, which reads it all, finds the same
    with pytest.raises(InputError, match="is truncated: its JSON array"):
        parse_wikidata([path], path.parent / "out", progress=False)


def test_gz_cut_inside_a_member(assets):
    lines = big_dump()  # more than the head that is decompressed first
    data = compressed_parts([lines[:HALF], lines[HALF:]], "gz")
    path = put_wikidata(assets, data[:-30])
    found = problems(manifest_of(assets))
    assert found["wikidata"].startswith(f"{path} (byte {len(data) - 30}): ends inside the gzip member that starts at")


@pytest.mark.parametrize("kind", ["gz", "bz2"])
def test_complete_wikidata_dumps_pass(assets, kind):
    put_wikidata(assets, compressed_parts([LINES[:1], LINES[1:HALF], LINES[HALF:]], kind))
    [result, *_] = check_assets(manifest_of(assets))
    assert result.problem is None and "array closed by its `]`" in result.summary


def test_newline_delimited_wikidata_cannot_be_checked(assets):
    put_wikidata(assets, gzip.compress(b"".join(line.rstrip(b",\n") + b"\n" for line in LINES[1:HALF])))
    [result, *_] = check_assets(manifest_of(assets))
    assert result.problem is None and "newline-delimited (no end marker" in result.summary


@pytest.fixture
def small_tail(monkeypatch):
    """Files bigger than the tail looked at: as a 100 GB dump is, without writing one."""
    monkeypatch.setattr(check, "TAIL_BYTES", 4096)


def big_dump(n=1500):
    return dump_lines(n, description=lambda i: f"thing {i} " + hashlib.sha1(str(i).encode()).hexdigest() * 3)


def test_big_multi_member_gz_last_member_only(assets, small_tail):
    lines = big_dump()
    path = put_wikidata(assets, compressed_parts([lines[:500], lines[500:1450], lines[1450:]], "gz"))
    [result, *_] = check_assets(manifest_of(assets))
    assert path.stat().st_size > 10 * 4096 and result.problem is None
    assert "array closed by its `]`" in result.summary
    path.write_bytes(compressed_parts([lines[:500], lines[500:1450], lines[1450:-1]], "gz"))
    assert "is truncated: its JSON array" in problems(manifest_of(assets))["wikidata"]


def test_big_single_member_gz_says_it_is_not_checked(assets, small_tail):
    put_wikidata(assets, gzip.compress(b"".join(big_dump())))
    [result, *_] = check_assets(manifest_of(assets))
    assert result.problem is None
    assert "array end not checked (no gzip member starts in its last" in result.summary
    assert "parse-wikidata" in result.summary


def test_big_single_stream_bz2_end_of_stream_marker(assets, small_tail):
    data = bz2.compress(b"".join(big_dump()))
    path = put_wikidata(assets, data)
    [result, *_] = check_assets(manifest_of(assets))
    assert result.problem is None and "array end not checked (no bz2 stream starts" in result.summary
    for n in (1, 5, 9, 200):  # the end-of-stream marker is not byte-aligned
        path.write_bytes(data[:-n])
        assert "ends inside a bz2 stream: it is truncated" in problems(manifest_of(assets))["wikidata"], n


def test_cli_wikidata_truncated_one_line(assets):
    path = put_wikidata(assets, TRUNCATED_WIKIDATA["gz cut between members"])
    proc = run_cli(manifest_of(assets))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    errors = proc.stderr.splitlines()
    assert errors[0].startswith(f"ERROR: wikidata: {path} (byte {path.stat().st_size}): is truncated")
    assert len(errors) == 2 and "1 problem(s)" in errors[1]


def test_wikipedia_cut_between_streams_fails_check_and_parse(assets, tmp_path):
    """A pages-articles dump must end with </mediawiki>: check sees it from the last bz2 stream, and parse-wikipedia
    (without the index, reading the streams in order) fails too."""
    path = assets["wikipedia"]
    cut(path, last_stream_start(path))
    assert "does not end with </mediawiki>" in problems(manifest_of(assets))["wikipedia"]
    with pytest.raises(InputError, match="the XML ends in the middle"):
        parse_wikipedia(path, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


# --- XML encodings and dumps without <dbname> (issue 13, every language) ---------------------------------------


def reencoded(assets, name, text_of):
    """The world's Wikipedia dump rewritten (as one bz2 stream, without its index) by `text_of(xml text) -> bytes`."""
    text = bz2.decompress(assets["wikipedia"].read_bytes()).decode("utf8")
    path = assets["wikipedia"].with_name(f"enwiki-latest-pages-articles-{name}.xml.bz2")
    path.write_bytes(bz2.compress(text_of(re.sub(r"^<\?xml[^>]*\?>\s*", "", text))))
    return {**assets, "wikipedia": path, "wikipedia_index": None}


ENCODINGS = {
    "utf16le": (lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"), "UTF-16-LE"),
    "utf16be": (lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"), "UTF-16-BE"),
    "utf8bom": (lambda t: t.encode("utf-8-sig"), "UTF-8-SIG"),
    "latin1": (
        lambda t: ('<?xml version="1.0" encoding="ISO-8859-1"?>\n' + t).encode("latin-1", "xmlcharrefreplace"),
        "ISO8859-1",
    ),
}


@pytest.mark.parametrize("name", ENCODINGS)
def test_xml_in_any_encoding_the_parser_reads(assets, tmp_path, name):
    text_of, shown = ENCODINGS[name]
    files = reencoded(assets, name, text_of)
    results = check_assets(manifest_of(files))
    assert [r.problem for r in results] == [None, None]
    assert "end intact, enwiki XML export (MediaWiki" in results[1].summary and shown in results[1].summary
    if name == "utf16le":  # what check accepts, parse-wikipedia reads
        parse_wikipedia(files["wikipedia"], tmp_path / "out", progress=False)
        assert (tmp_path / "out" / "articles.jsonl").stat().st_size > 0


def test_not_xml_is_shown_as_text(assets):
    path = assets["wikipedia"].with_name("enwiki-latest-pages-articles-zip.xml.bz2")
    path.write_bytes(bz2.compress(b"PK\x03\x04\x14\x00 enwiki.xml\xff\xfe more"))
    found = problems(manifest_of({**assets, "wikipedia": path, "wikipedia_index": None}))["wikipedia"]
    assert 'is not XML (it starts with "PK???? enwiki.xml?? more"), not a MediaWiki XML export' in found
    assert "b'" not in found and "\\x" not in found


def test_xml_of_another_root(assets):
    path = assets["wikipedia"].with_name("enwiki-latest-pages-articles-rss.xml.bz2")
    path.write_bytes(bz2.compress("\ufeff<rss><channel/></rss>".encode("utf-16-le")))
    found = problems(manifest_of({**assets, "wikipedia": path, "wikipedia_index": None}))["wikipedia"]
    assert "is XML whose root element is <rss>, not a MediaWiki XML export" in found


def without_dbname(text, base=True):
    text = re.sub(r"\s*<dbname>[^<]*</dbname>", "", text)
    return text if base else re.sub(r"\s*<base>[^<]*</base>", "", text)


@pytest.mark.parametrize("base", [True, False])
def test_dump_without_dbname_is_checked_by_base_and_xml_lang(assets, base):
    files = reencoded(assets, "nodbname", lambda t: without_dbname(t, base).encode("utf8"))
    results = check_assets(manifest_of(files))
    assert [r.problem for r in results] == [None, None] and "en wiki XML export" in results[1].summary
    found = problems(manifest_of(files, lang="bg"))["wikipedia"]
    told = "<base> https://en.wikipedia.org/wiki/" if base else 'xml:lang="en"'
    assert f"is a dump of the 'en' wiki (its {told}" in found
    assert "it has no <dbname>), not of the manifest's lang 'bg'" in found
