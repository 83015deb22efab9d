"""fetch: URLs, offline behaviour, manifests, dumps already on disk (the local-dump vars). Downloads against a real
HTTP server: tests/test_download.py."""

import bz2
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request

import pytest
from typer.testing import CliRunner

from conftest import WIKIEL, run_project_copy
from wikiel.cli import app
from wikiel.sources import fetch
from wikiel.sources.check import check_assets
from wikiel.sources.fetch import FetchError, Unreachable
from wikiel.util import InputError, read_json, write_json

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT.parent / "shared" / "data"
SITE = "https://dumps.wikimedia.org"
URL = f"{SITE}/enwiki/latest/enwiki-latest-pages-articles-multistream.xml.bz2"
BODY = bytes(range(256)) * 40  # 10,240 bytes


class FakeResponse(io.BytesIO):
    """What urlopen returns: a readable body with .status and .headers; may fail after `fail_after` bytes."""

    def __init__(self, body, status=200, headers=None, fail_after=None):
        super().__init__(body)
        self.status = status
        self.headers = headers or {}
        self.fail_after = fail_after

    def read(self, size=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer")
        if self.fail_after is not None:
            size = min(size if size > 0 else self.fail_after, self.fail_after - self.tell())
        return super().read(size)


class FakeServer:
    """Serves files by URL like dumps.wikimedia.org, with or without HTTP Range support."""

    def __init__(self, files, ranges=True, etag='"v1"', fail_after=None):
        self.files = files
        self.ranges = ranges
        self.etag = etag
        self.fail_after = fail_after
        self.requests = []

    def urlopen(self, request, timeout=None):
        if not isinstance(request, Request):
            request = Request(request)
        self.requests.append(request)
        if request.full_url not in self.files:
            raise HTTPError(request.full_url, 404, "Not Found", {}, None)
        body = self.files[request.full_url]
        headers = {"Content-Length": str(len(body)), "ETag": self.etag}
        if request.get_method() == "HEAD":
            return FakeResponse(b"", headers=headers)
        wanted = request.get_header("Range")
        if_range = request.get_header("If-range")
        if wanted and self.ranges and if_range in (None, self.etag):
            start = int(wanted.split("=")[1].rstrip("-"))
            return FakeResponse(body[start:], status=206, headers=headers)
        return FakeResponse(body, headers=headers, fail_after=self.fail_after)

    def gets(self):
        return [r for r in self.requests if r.get_method() == "GET"]


@pytest.fixture
def server(monkeypatch):
    fake = FakeServer({URL: BODY})
    monkeypatch.setattr(fetch, "urlopen", fake.urlopen)
    return fake


def start_part(dest, n_bytes, etag='"v1"'):
    """Leave a partial download as an interrupted run would."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.with_name(dest.name + ".part").write_bytes(BODY[:n_bytes])
    write_json(dest.with_name(dest.name + ".part.json"), {"url": URL, "validator": etag})


# --- URLs ---------------------------------------------------------------------------------------------


def test_urls():
    assert fetch.wikidata_url() == f"{SITE}/wikidatawiki/entities/latest-all.json.gz"
    assert fetch.wikidata_url("latest", "bz2") == f"{SITE}/wikidatawiki/entities/latest-all.json.bz2"
    assert fetch.wikidata_url("20240101") == f"{SITE}/wikidatawiki/entities/20240101/wikidata-20240101-all.json.gz"
    assert fetch.wikipedia_url("en") == URL
    assert (
        fetch.wikipedia_url("de", "20240301", index=True)
        == f"{SITE}/dewiki/20240301/dewiki-20240301-pages-articles-multistream-index.txt.bz2"
    )
    assert fetch.wikipedia_checksum_urls("en", "latest")[0] == f"{SITE}/enwiki/latest/enwiki-latest-sha1sums.txt"
    assert fetch.wikidata_checksum_urls("latest") == []
    assert (
        fetch.wikidata_checksum_urls("20240101")[0]
        == f"{SITE}/wikidatawiki/entities/20240101/wikidata-20240101-sha1sums.txt"
    )
    with pytest.raises(ValueError):
        fetch.wikidata_url(fmt="zip")


def test_plan_names_files_as_on_the_server(tmp_path):
    plan = fetch.plan_downloads(tmp_path, "en", "latest", "gz")
    assert [(d.key, d.path.name) for d in plan] == [
        ("wikidata", "latest-all.json.gz"),
        ("wikipedia", "enwiki-latest-pages-articles-multistream.xml.bz2"),
        ("wikipedia_index", "enwiki-latest-pages-articles-multistream-index.txt.bz2"),
    ]
    assert all(d.path.parent == tmp_path / "dumps" for d in plan)


# --- offline --------------------------------------------------------------------------------------------


def test_offline_error_says_where_to_put_files(tmp_path, monkeypatch):
    def no_network(request, timeout=None):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(fetch, "urlopen", no_network)
    with pytest.raises(Unreachable) as err:
        fetch.fetch_dumps(tmp_path / "assets", progress=False)
    message = str(err.value)
    assert isinstance(err.value, InputError)  # the CLIs print it as one line
    assert "name resolution" in message and fetch.wikidata_url() in message
    for name in (
        "latest-all.json.gz",
        "enwiki-latest-pages-articles-multistream.xml.bz2",
        "enwiki-latest-pages-articles-multistream-index.txt.bz2",
    ):
        assert str((tmp_path / "assets" / "dumps" / name).resolve()) in message
    assert "sha1sum" in message and "enwiki-latest-sha1sums.txt" in message
    assert "--source world" in message and "--source excerpts" in message
    assert list(tmp_path.iterdir()) == []


def test_offline_with_files_put_by_hand(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "urlopen", lambda *a, **k: (_ for _ in ()).throw(TimeoutError("timed out")))
    for item in fetch.plan_downloads(tmp_path, "en", "latest", "gz"):
        item.path.parent.mkdir(parents=True, exist_ok=True)
        item.path.write_bytes(b"x" * 10)
    manifest = fetch.fetch_dumps(tmp_path, progress=False)
    assert manifest["source"] == "dumps" and manifest["dump_date"] == "latest"
    assert Path(manifest["wikidata"][0]["path"]).name == "latest-all.json.gz"
    assert manifest["wikipedia_index"]["bytes"] == 10


# --- downloads ------------------------------------------------------------------------------------------


def test_download_restarts_when_the_file_changed_on_the_server(tmp_path, server):
    dest = tmp_path / "enwiki.xml.bz2"
    start_part(dest, 4000, etag='"old latest"')
    fetch.download(URL, dest, progress=False)
    assert dest.read_bytes() == BODY
    assert server.gets()[0].get_header("Range") is None


def test_missing_dump_date(tmp_path, server):
    with pytest.raises(FetchError, match="--vars.dump_date"):
        fetch.download(fetch.wikipedia_url("en", "20010101"), tmp_path / "x.bz2", progress=False)


def test_fetch_dumps_downloads_all_and_writes_manifest(tmp_path, monkeypatch):
    files = {d.url: d.key.encode() * 100 for d in fetch.plan_downloads(tmp_path, "en", "20240101", "bz2")}
    monkeypatch.setattr(fetch, "urlopen", FakeServer(files).urlopen)
    monkeypatch.chdir(tmp_path)
    manifest = fetch.fetch_dumps(Path("assets"), date="20240101", wikidata_format="bz2", progress=False)
    assert manifest["wikidata"] == [
        {
            "path": "assets/dumps/wikidata-20240101-all.json.bz2",
            "bytes": 800,
            "sha1": hashlib.sha1(b"wikidata" * 100).hexdigest(),
        }
    ]
    assert manifest["wikipedia"]["path"] == "assets/dumps/enwiki-20240101-pages-articles-multistream.xml.bz2"
    assert read_json(tmp_path / "assets" / "manifest.json") == manifest


# --- checksums ------------------------------------------------------------------------------------------


# --- excerpts, world, manifests ---------------------------------------------------------------------------


@pytest.mark.skipif(not DATA.is_dir(), reason=f"real excerpts not found at {DATA}")
def test_excerpts_manifest(tmp_path):
    manifest = fetch.use_excerpts(tmp_path)
    assert manifest["source"] == "excerpts" and manifest["lang"] == "en" and manifest["dump_date"] is None
    assert [Path(e["path"]) for e in manifest["wikidata"]] == [
        (DATA / "wikidata" / name).resolve() for name in fetch.EXCERPT_WIKIDATA
    ]
    assert Path(manifest["wikipedia"]["path"]) == (DATA / "wikipedia" / fetch.EXCERPT_WIKIPEDIA).resolve()
    assert manifest["wikipedia_index"] is None
    q31 = manifest["wikidata"][3]
    assert (
        q31["bytes"] == 355296
        and q31["sha1"] == hashlib.sha1((DATA / "wikidata" / "Q31.json").read_bytes()).hexdigest()
    )
    assert read_json(tmp_path / "manifest.json") == manifest
    assert (
        fetch.manifest_paths(fetch.read_manifest(tmp_path / "manifest.json"), "wikidata")[0].name
        == "sample_wikidata_items.json.bz2"
    )


def test_excerpts_missing(tmp_path):
    with pytest.raises(FetchError, match="excerpts directory is missing"):
        fetch.use_excerpts(tmp_path, excerpts_dir=tmp_path / "nothing")
    with pytest.raises(FetchError, match="English only"):
        fetch.use_excerpts(tmp_path, lang="de")


def test_world_manifest(tmp_path, monkeypatch):
    """The manifest of a generated world names its files relative to the project directory."""
    monkeypatch.chdir(tmp_path)
    world = Path("assets") / "world"
    world.mkdir(parents=True)
    paths = {k: world / f"{k}.bz2" for k in ("wikidata", "wikipedia", "wikipedia_index")}
    for path in paths.values():
        path.write_bytes(b"BZh9")
    manifest = fetch.use_world(Path("assets"), "en", paths)
    assert manifest["source"] == "world"
    assert manifest["wikidata"][0]["path"] == "assets/world/wikidata.bz2"
    assert manifest["wikipedia_index"]["path"] == "assets/world/wikipedia_index.bz2"


def test_cli_world(tmp_path):
    """`wikiel fetch --source world` generates the world and writes its manifest."""
    result = subprocess.run(
        [*WIKIEL, "fetch", str(tmp_path), "--world-entities", "200", "--world-articles", "30", "--seed", "7"],
        capture_output=True,
        text=True,
        timeout=600,  # a guard: a hung step fails the test instead of the whole run
    )
    assert result.returncode == 0, result.stderr
    manifest = read_json(tmp_path / "manifest.json")
    assert manifest["source"] == "world" and (tmp_path / "world" / "latest-all.json.gz").is_file()


def test_read_manifest_errors(tmp_path):
    with pytest.raises(InputError, match="fetch step"):
        fetch.read_manifest(tmp_path / "manifest.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match="not a fetch manifest"):
        fetch.read_manifest(tmp_path / "bad.json")


@pytest.mark.skipif(not DATA.is_dir(), reason=f"real excerpts not found at {DATA}")
def test_cli_excerpts(tmp_path):
    result = subprocess.run(
        [*WIKIEL, "fetch", str(tmp_path), "--source", "excerpts"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,  # a guard: a hung step fails the test instead of the whole run
    )
    assert result.returncode == 0, result.stderr
    assert len(read_json(tmp_path / "manifest.json")["wikidata"]) == 6


def test_cli_rejects_unknown_source(tmp_path):
    result = subprocess.run(
        [*WIKIEL, "fetch", str(tmp_path), "--source", "ftp"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=600,  # a guard: a hung step fails the test instead of the whole run
    )
    assert result.returncode == 1 and result.stderr.startswith("ERROR: --source")


def test_complete_part_is_renamed_without_a_request(tmp_path, server):
    dest = tmp_path / "enwiki.xml.bz2"
    start_part(dest, len(BODY))
    fetch.download(URL, dest, progress=False)
    assert dest.read_bytes() == BODY and server.gets() == []
    assert server.requests[0].get_header("User-agent").startswith("wikiel-fetch")


# --- dumps already on disk (vars.wikidata_dump, vars.wikipedia_dump, vars.wikipedia_index) -----------------------


@pytest.fixture(scope="module")
def world(make_world):
    return make_world(n_entities=400, n_articles=80, seed=0)  # the world test_check.py uses


@pytest.fixture
def drive(world, tmp_path):
    """The world's dumps on a 'shared drive' outside the project, under names of the user's choosing."""
    drive = tmp_path / "shared drive"
    drive.mkdir()
    return {
        "wikidata": Path(shutil.copy(world["wikidata"], drive / "entities.gz")),
        "wikipedia": Path(shutil.copy(world["wikipedia"], drive / "my english wiki.bz2")),
        "wikipedia_index": Path(shutil.copy(world["wikipedia_index"], drive / "offsets")),
    }


def fetch_local(project, *args):
    """`wikiel fetch assets` run in the project directory, in this process."""
    old = Path.cwd()
    os.chdir(project)
    try:
        return CliRunner().invoke(app, ["fetch", "assets", *map(str, args)])
    finally:
        os.chdir(old)


def snapshot(directory):
    """name -> (size, mtime_ns, sha1) of every file under `directory`."""
    return {
        str(p.relative_to(directory)): (
            p.stat().st_size,
            p.stat().st_mtime_ns,
            hashlib.sha1(p.read_bytes()).hexdigest(),
        )
        for p in sorted(directory.rglob("*"))
    }


def test_local_dumps_are_used_where_they_are(drive, tmp_path):
    """Any names, outside the project, relative paths: the manifest points at the files as they are (nothing copied,
    moved or changed), with their size, time of modification, the wiki and dump date read from their content; check
    passes with the workflow's default vars.dump_date (latest)."""
    project = tmp_path / "project"
    project.mkdir()
    before = snapshot(drive["wikidata"].parent)
    relative = {key: os.path.relpath(path, project) for key, path in drive.items()}
    result = fetch_local(
        project,
        "--wikidata-dump",
        relative["wikidata"],
        "--wikipedia-dump",
        relative["wikipedia"],
        "--wikipedia-index",
        relative["wikipedia_index"],
    )
    assert result.exit_code == 0, result.output + result.stderr
    assert "local: 1 Wikidata file(s), enwiki dump with its index" in result.output
    manifest = read_json(project / "assets" / "manifest.json")
    assert manifest["source"] == "local" and manifest["lang"] == "en"
    assert manifest["dump_date"] == "20230501"  # the newest <timestamp> in the head of the world's pages
    wikipedia = manifest["wikipedia"]
    assert Path(wikipedia["path"]) == drive["wikipedia"] and wikipedia["bytes"] == drive["wikipedia"].stat().st_size
    assert wikipedia["wiki"] == "enwiki" and wikipedia["var"] == "wikipedia_dump"
    assert wikipedia["dump_date_from"].startswith("newest timestamp")
    assert wikipedia["modified"] == fetch.modified(drive["wikipedia"])
    assert manifest["wikidata"][0]["dump_date"] == "unknown"  # the world's entities carry no "modified"
    assert Path(manifest["wikipedia_index"]["path"]) == drive["wikipedia_index"]
    assert snapshot(drive["wikidata"].parent) == before
    assert [p.name for p in (project / "assets").iterdir() if not p.name.startswith(".")] == ["manifest.json"]
    old = Path.cwd()
    os.chdir(project)
    try:
        check = CliRunner().invoke(app, ["check", "assets/manifest.json", "--lang", "en", "--dump-date", "latest"])
        steps = [
            CliRunner().invoke(app, [step, "--manifest", "assets/manifest.json", out, "--n-process", "1"])
            for step, out in (("parse-wikidata", "corpus/wikidata"), ("parse-wikipedia", "corpus/wikipedia"))
        ]
    finally:
        os.chdir(old)
    assert check.exit_code == 0, check.output + check.stderr
    assert check.output.count("OK: ") == 3 and "dump date 20230501" in check.output
    assert [step.exit_code for step in steps] == [0, 0], [step.stderr for step in steps]
    assert read_json(project / "corpus" / "wikipedia" / "stats.json")["counts"]["articles"] == 80
    again = fetch_local(project, "--wikidata-dump", relative["wikidata"], "--wikipedia-dump", relative["wikipedia"])
    assert again.exit_code == 0 and read_json(project / "assets" / "manifest.json")["wikipedia_index"] is None


def test_local_dump_formats_names_and_dates(world, tmp_path):
    """Plain and gzip XML, several Wikidata files in order (plain JSON, bz2); the date from the Wikimedia file-name
    pattern when there is one, else from the entities' "modified"."""
    xml = bz2.decompress(world["wikipedia"].read_bytes())
    (tmp_path / "enwiki-20240301-pages-articles.xml").write_bytes(xml)
    (tmp_path / "pages.xml.gz").write_bytes(gzip.compress(xml))
    entity = '{"type":"item","id":"Q1","labels":{"en":{"language":"en","value":"universe"}},"modified":"%s"}'
    (tmp_path / "one.json").write_text(f"[\n{entity % '2024-02-03T10:00:00Z'},\n{entity % '2024-02-05T00:00:00Z'}\n]\n")
    (tmp_path / "two.json.bz2").write_bytes(bz2.compress(world["wikidata"].read_bytes()))
    result = fetch_local(
        tmp_path, "--wikidata-dump", "one.json, two.json.bz2", "--wikipedia-dump", "enwiki-20240301-pages-articles.xml"
    )
    assert result.exit_code == 0, result.output + result.stderr
    manifest = read_json(tmp_path / "assets" / "manifest.json")
    assert [e["path"] for e in manifest["wikidata"]] == ["one.json", "two.json.bz2"]
    assert [e["dump_date"] for e in manifest["wikidata"]] == ["20240205", "unknown"]
    assert manifest["dump_date"] == "20240301" and manifest["wikipedia"]["dump_date_from"] == "file name"
    result = fetch_local(tmp_path, "--wikidata-dump", "one.json", "--wikipedia-dump", "pages.xml.gz")
    assert result.exit_code == 0, result.output + result.stderr
    manifest = read_json(tmp_path / "assets" / "manifest.json")
    assert manifest["wikipedia"]["wiki"] == "enwiki" and manifest["dump_date"] == "20230501"


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ["--wikidata-dump", "nothing.json.gz", "--wikipedia-dump", "w.xml.bz2"],
            "nothing.json.gz: vars.wikidata_dump "
            "names a file that does not exist (check the path; a relative path is relative to the project directory",
        ),
        (["--wikidata-dump", "d.json.gz", "--wikipedia-dump", "."], ": vars.wikipedia_dump names a directory"),
        (["--wikidata-dump", "d.json.gz"], "ERROR: vars.wikipedia_dump: is empty, but the other dump var is set"),
        (["--wikipedia-index", "d.json.gz"], "ERROR: vars.wikidata_dump: is empty"),
        (
            ["--wikidata-dump", "d.json.gz,,d.json.gz", "--wikipedia-dump", "w.xml.bz2"],
            "vars.wikidata_dump: has an empty entry",
        ),
        (
            ["--wikidata-dump", "d.json.gz", "--wikipedia-dump", "w.xml.bz2", "--lang", "de"],
            "w.xml.bz2: is the enwiki dump, but vars.lang is 'de' (dewiki) (run with --vars.lang en",
        ),
        (
            ["--wikidata-dump", "d.json.gz", "--wikipedia-dump", "cut.bz2"],
            "cut.bz2 (byte 0): vars.wikipedia_dump: is not valid bz2 data",
        ),
        (["--wikidata-dump", "d.json.gz", "--wikipedia-dump", "w.xml.bz2", "--kb", "custom"], "go with --kb wikidata"),
        (
            ["--wikidata-dump", "w.xml.bz2", "--wikipedia-dump", "d.json.gz"],
            "vars.wikipedia_dump names JSON (a Wikidata dump?), not a MediaWiki XML export (vars.wikipedia_dump is "
            "the pages-articles XML dump, vars.wikidata_dump the entity JSON: swapped?)",
        ),
    ],
    ids=[
        "missing",
        "directory",
        "one dump",
        "index alone",
        "empty entry",
        "other wiki",
        "not bz2",
        "custom kb",
        "swapped",
    ],
)
def test_local_dump_errors_are_one_line_naming_the_var(world, tmp_path, args, expected):
    shutil.copy(world["wikidata"], tmp_path / "d.json.gz")
    shutil.copy(world["wikipedia"], tmp_path / "w.xml.bz2")
    (tmp_path / "cut.bz2").write_bytes(b"BZh91AY&SY" + bytes(100))
    before = snapshot(tmp_path)
    result = fetch_local(tmp_path, *args)
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("ERROR: ") and expected in line, line
    assert "delete" not in line
    assert snapshot(tmp_path) == before  # no manifest, nothing changed


def test_check_of_a_changed_local_dump_never_says_delete(drive, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    result = fetch_local(project, "--wikidata-dump", drive["wikidata"], "--wikipedia-dump", drive["wikipedia"])
    assert result.exit_code == 0, result.stderr
    data = drive["wikipedia"].read_bytes()
    drive["wikipedia"].write_bytes(data[: len(data) // 2])
    [problem] = [r.problem for r in check_assets(project / "assets" / "manifest.json", "en", "latest") if r.problem]
    assert "the manifest says" in str(problem) and "delete" not in str(problem)
    assert "point vars.wikipedia_dump at a complete dump" in str(problem)


def test_project_yml_passes_the_local_dump_vars(drive, tmp_path):
    """`spacy project run fetch . --vars.wikidata_dump D --vars.wikipedia_dump W` writes the local manifest (the
    vars reach the step); then `check` passes with the default dump_date."""
    project = tmp_path / "project"
    project.mkdir()
    overrides = {"wikidata_dump": drive["wikidata"], "wikipedia_dump": drive["wikipedia"]}
    run_project_copy(project, overrides, workflow="fetch", timeout=300)
    manifest = read_json(project / "assets" / "manifest.json")
    assert manifest["source"] == "local" and Path(manifest["wikipedia"]["path"]) == drive["wikipedia"]
    proc = subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", "check", str(project)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "head,lang,wiki",
    [
        ('<mediawiki xml:lang="bg"><siteinfo><base>https://bg.wikipedia.org/wiki/X</base>', "bg", "bgwiki"),
        ('<mediawiki xml:lang="zh-Hans"><siteinfo><sitename>W</sitename></siteinfo>', "zh", "zhwiki"),
        ("<mediawiki><siteinfo><dbname>dewiki</dbname></siteinfo>", "de", "dewiki"),
        ('<mediawiki xml:lang="bg"><siteinfo><base>https://bg.wikipedia.org/wiki/X</base>', "en", None),
        ('<mediawiki xml:lang="de"><siteinfo><sitename>W</sitename></siteinfo>', "en", None),
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_local_dump_wiki_without_dbname_in_any_encoding(head: str, lang: str, wiki: str, encoding: str) -> None:
    """A local dump's wiki is read as the check step reads it: <dbname>, else <base> or xml:lang, in any encoding;
    a contradicting vars.lang is one error naming it."""
    from wikiel.sources import local

    data = head.encode(encoding)
    if wiki is None:
        with pytest.raises(InputError, match=f"but vars.lang is '{lang}'"):
            local.check_wiki(Path("dump.xml"), data, lang)
    else:
        assert local.check_wiki(Path("dump.xml"), data, lang) == wiki
