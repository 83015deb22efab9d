"""fetch: URLs, offline behaviour, resumable downloads against a fake server, checksums, manifests."""

import hashlib
import io
import subprocess
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request

import pytest

from conftest import WIKIEL
from wikiel.sources import fetch
from wikiel.sources.fetch import Download, FetchError, Unreachable
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


def test_download_from_scratch(tmp_path, server):
    dest = tmp_path / "dumps" / "enwiki.xml.bz2"
    assert fetch.download(URL, dest, progress=False) == dest
    assert dest.read_bytes() == BODY
    assert sorted(p.name for p in dest.parent.iterdir()) == ["enwiki.xml.bz2"]


def test_download_resumes_with_range(tmp_path, server):
    dest = tmp_path / "enwiki.xml.bz2"
    start_part(dest, 4000)
    fetch.download(URL, dest, progress=False)
    assert dest.read_bytes() == BODY
    assert server.gets()[0].get_header("Range") == "bytes=4000-"
    assert server.gets()[0].get_header("If-range") == '"v1"'
    assert not dest.with_name(dest.name + ".part").exists()


def test_download_restarts_when_server_ignores_range(tmp_path, server):
    server.ranges = False
    dest = tmp_path / "enwiki.xml.bz2"
    start_part(dest, 4000)
    fetch.download(URL, dest, progress=False)
    assert dest.read_bytes() == BODY


def test_download_restarts_when_the_file_changed_on_the_server(tmp_path, server):
    dest = tmp_path / "enwiki.xml.bz2"
    start_part(dest, 4000, etag='"old latest"')
    fetch.download(URL, dest, progress=False)
    assert dest.read_bytes() == BODY
    assert server.gets()[0].get_header("Range") is None


def test_complete_file_is_kept(tmp_path, server):
    dest = tmp_path / "enwiki.xml.bz2"
    dest.write_bytes(BODY)
    fetch.download(URL, dest, progress=False)
    assert server.gets() == []


def test_interrupted_download_leaves_only_the_part_then_resumes(tmp_path, server):
    server.fail_after = 3000
    dest = tmp_path / "enwiki.xml.bz2"
    with pytest.raises(FetchError, match="interrupted") as err:
        fetch.download(URL, dest, progress=False)
    assert "resume" in str(err.value)
    assert not dest.exists()
    assert dest.with_name(dest.name + ".part").read_bytes() == BODY[:3000]
    server.fail_after = None
    fetch.download(URL, dest, progress=False)
    assert dest.read_bytes() == BODY
    assert server.gets()[-1].get_header("Range") == "bytes=3000-"


def test_missing_dump_date(tmp_path, server):
    with pytest.raises(FetchError, match="--dump-date"):
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


def test_verify_against_published_sha1(tmp_path, monkeypatch):
    dest = tmp_path / "enwiki-latest-pages-articles-multistream.xml.bz2"
    dest.write_bytes(BODY)
    sums_url = f"{SITE}/enwiki/latest/enwiki-latest-sha1sums.txt"
    sums = (
        f"{'0' * 40}  enwiki-20240101-pages-articles.xml.bz2\n"
        f"{hashlib.sha1(BODY).hexdigest()}  enwiki-20240101-pages-articles-multistream.xml.bz2\n"
    )
    monkeypatch.setattr(fetch, "urlopen", FakeServer({sums_url: sums.encode()}).urlopen)
    item = Download("wikipedia", URL, dest, fetch.wikipedia_checksum_urls("en", "latest"))
    assert fetch.verify(item, progress=False) is True
    dest.write_bytes(BODY[:-1] + b"!")
    with pytest.raises(FetchError, match="sha1"):
        fetch.verify(item, progress=False)
    assert not dest.exists()


def test_verify_without_published_checksum(tmp_path, monkeypatch):
    dest = tmp_path / "latest-all.json.gz"
    dest.write_bytes(BODY)
    monkeypatch.setattr(fetch, "urlopen", FakeServer({}).urlopen)
    item = Download("wikidata", fetch.wikidata_url(), dest, [f"{SITE}/wikidatawiki/entities/none-sha1sums.txt"])
    assert fetch.verify(item, progress=False) is False
    assert dest.exists()


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
    )
    assert result.returncode == 0, result.stderr
    assert len(read_json(tmp_path / "manifest.json")["wikidata"]) == 6


def test_cli_rejects_unknown_source(tmp_path):
    result = subprocess.run(
        [*WIKIEL, "fetch", str(tmp_path), "--source", "ftp"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and result.stderr.startswith("ERROR: --source")


def test_complete_part_is_renamed_without_a_request(tmp_path, server):
    dest = tmp_path / "enwiki.xml.bz2"
    start_part(dest, len(BODY))
    fetch.download(URL, dest, progress=False)
    assert dest.read_bytes() == BODY and server.gets() == []
    assert server.requests[0].get_header("User-agent").startswith("wikiel-fetch")
