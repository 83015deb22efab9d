"""Downloads end to end against a real HTTP server on 127.0.0.1 (started here, in a thread) that serves a generated
world's dump files under the Wikimedia paths of a dump date, like dumps.wikimedia.org or a mirror: Range requests,
a connection dropped mid-file, a server that ignores Range, published checksum files, 404, no server at all; then
the check and parse steps on what was downloaded. Nothing here touches the internet."""

import hashlib
import http.server
import re
import shutil
import socket
import threading
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
from typer.testing import CliRunner

from conftest import run_cli
from wikiel.cli import app
from wikiel.sources import fetch
from wikiel.sources.fetch import FetchError
from wikiel.util import read_json, write_json

DATE = "20240101"
WIKIDATA = f"/wikidatawiki/entities/{DATE}/wikidata-{DATE}-all.json.gz"
WIKIPEDIA = f"/enwiki/{DATE}/enwiki-{DATE}-pages-articles-multistream.xml.bz2"
INDEX = f"/enwiki/{DATE}/enwiki-{DATE}-pages-articles-multistream-index.txt.bz2"
WIKIDATA_SUMS = f"/wikidatawiki/entities/{DATE}/wikidata-{DATE}-md5sums.txt"  # the entities dir has its own
WIKIPEDIA_SHA1 = f"/enwiki/{DATE}/enwiki-{DATE}-sha1sums.txt"
WIKIPEDIA_MD5 = f"/enwiki/{DATE}/enwiki-{DATE}-md5sums.txt"
ETAG = '"dump-v1"'


class DumpSite(http.server.ThreadingHTTPServer):
    """A dumps site: `files` (URL path -> body); `ranges` False ignores Range headers (answers 200 with the whole
    file); `head` False refuses HEAD requests (405); `drop_at` (a byte position) makes the next GET that reaches it
    send the bytes before it, then close the connection (once). Every request is logged as (method, path, Range
    header, status)."""

    daemon_threads = True

    def __init__(self, files: Dict[str, bytes]):
        super().__init__(("127.0.0.1", 0), Handler)
        self.files = files
        self.ranges = True
        self.head = True
        self.drop_at: Optional[int] = None
        self.log: List[Tuple[str, str, Optional[str], int]] = []

    def handle_error(self, request, client_address):
        """A client that closes the connection before the body's end (a probe of the size) is no error."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def gets(self, path: str) -> List[Tuple[Optional[str], int]]:
        """(Range header, status) of each GET of `path`."""
        return [(wanted, status) for method, p, wanted, status in self.log if method == "GET" and p == path]


class Handler(http.server.BaseHTTPRequestHandler):
    server: DumpSite

    def log_message(self, *args):  # quiet
        pass

    def do_HEAD(self):
        if not self.server.head:
            self.server.log.append((self.command, self.path, None, 405))
            self.send_error(405)
            return
        self.answer(body=False)

    def do_GET(self):
        self.answer(body=True)

    def answer(self, body: bool) -> None:
        wanted = self.headers.get("Range")
        data = self.server.files.get(self.path)
        if data is None:
            self.server.log.append((self.command, self.path, wanted, 404))
            self.send_error(404)
            return
        start, end = 0, len(data) - 1
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted or "")
        partial = bool(match and self.server.ranges and self.headers.get("If-Range") in (None, ETAG))
        if partial:
            assert match is not None
            start, end = int(match.group(1)), int(match.group(2) or end)
        self.server.log.append((self.command, self.path, wanted, 206 if partial else 200))
        self.send_response(206 if partial else 200)
        self.send_header("Content-Length", str(end + 1 - start))
        self.send_header("ETag", ETAG)
        self.send_header("Accept-Ranges", "bytes" if self.server.ranges else "none")
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if not body:
            return
        drop = self.server.drop_at
        if drop is not None and start < drop <= end:
            self.server.drop_at = None
            self.wfile.write(data[start:drop])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)  # the connection is lost mid-file
            self.close_connection = True
            return
        self.wfile.write(data[start : end + 1])


def sums(algorithm: str, files: Dict[str, bytes], *others: str) -> bytes:
    """A `<wiki>-<date>-<algorithm>sums.txt` file: `hash  name` lines (with entries of other dump files)."""
    lines = [f"{hashlib.new(algorithm, data).hexdigest()}  {path.rsplit('/', 1)[1]}" for path, data in files.items()]
    lines += [f"{'0' * 40}  {name}" for name in others]
    return ("\n".join(sorted(lines)) + "\n").encode()


@pytest.fixture(scope="module")
def world(make_world):
    return make_world(n_entities=400, n_articles=80, seed=0)  # the world test_check.py uses


@pytest.fixture
def site(world):
    """A running dumps site with the world's three files for DATE and their published checksums."""
    wikidata = {WIKIDATA: world["wikidata"].read_bytes()}
    wikipedia = {WIKIPEDIA: world["wikipedia"].read_bytes(), INDEX: world["wikipedia_index"].read_bytes()}
    files = {**wikidata, **wikipedia}
    files[WIKIDATA_SUMS] = sums("md5", wikidata, f"wikidata-{DATE}-all.json.bz2")
    files[WIKIPEDIA_SHA1] = sums("sha1", wikipedia, f"enwiki-{DATE}-pages-articles.xml.bz2")
    files[WIKIPEDIA_MD5] = sums("md5", wikipedia)
    server = DumpSite(files)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def get(site: DumpSite, path: str, dest: Path, **kwargs) -> Path:
    item = next(i for i in fetch.plan_downloads(dest.parent, "en", DATE, "gz", site.base) if i.url.endswith(path))
    return fetch.download(site.base + path, dest, False, fetch.published_checksum(item), **kwargs)


def fetch_cli(site_url: str, out: Path, *more: str):
    """`wikiel fetch OUT --source dumps` in this process (the server runs in this process too)."""
    args = ["fetch", str(out), "--source", "dumps", "--dump-date", DATE, "--dump-site", site_url, *more]
    return CliRunner().invoke(app, args)


def error_line(result) -> str:
    """The one ERROR line of a failed command (after progress notes such as a checksum that matched)."""
    [line] = [line for line in result.stderr.splitlines() if "ERROR" in line or "Traceback" in line]
    assert result.stderr.rstrip().endswith(line)
    return line


# --- the chain on what was downloaded ---------------------------------------------------------------------------


def test_download_from_a_mirror_then_check_and_parse(site, world, tmp_path):
    """fetch --source dumps from a local mirror (base URL with a trailing slash), every file verified against the
    published checksums; then check and both parse steps run on the downloaded files; fetching again downloads
    nothing."""
    result = fetch_cli(site.base + "/", tmp_path / "assets")
    assert result.exit_code == 0, result.output + result.stderr
    dumps = tmp_path / "assets" / "dumps"
    for key, path in (("wikidata", WIKIDATA), ("wikipedia", WIKIPEDIA), ("wikipedia_index", INDEX)):
        assert (dumps / path.rsplit("/", 1)[1]).read_bytes() == world[key].read_bytes()
    assert sorted(p.name for p in dumps.iterdir()) == sorted(p.rsplit("/", 1)[1] for p in (WIKIDATA, WIKIPEDIA, INDEX))
    assert f"md5 matches {site.base}{WIKIDATA_SUMS}" in result.stderr
    assert f"sha1 matches {site.base}{WIKIPEDIA_SHA1}" in result.stderr
    manifest = read_json(tmp_path / "assets" / "manifest.json")
    assert manifest["source"] == "dumps" and manifest["dump_date"] == DATE
    assert manifest["settings"]["site"] == site.base
    proc = run_cli("check", "assets/manifest.json", "--lang", "en", "--dump-date", DATE, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("OK: ") == 3 and f"dump date {DATE}" in proc.stdout
    manifest_arg = ("--manifest", "assets/manifest.json", "--n-process", "1")
    proc = run_cli("parse-wikidata", *manifest_arg, "corpus/wikidata", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert read_json(tmp_path / "corpus" / "wikidata" / "stats.json")["counts"]["entities"] > 0
    proc = run_cli("parse-wikipedia", *manifest_arg, "corpus/wikipedia", cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert read_json(tmp_path / "corpus" / "wikipedia" / "stats.json")["counts"]["articles"] == 80
    requests = len(site.log)
    result = fetch_cli(site.base, tmp_path / "assets")  # same settings, files unchanged: no request at all
    assert result.exit_code == 0 and "unchanged" in result.output
    assert len(site.log) == requests


# --- resuming -------------------------------------------------------------------------------------------------


def test_dropped_connection_resumes_with_range(site, world, tmp_path):
    data = world["wikipedia"].read_bytes()
    site.drop_at = len(data) // 2
    dest = get(site, WIKIPEDIA, tmp_path / "dump.xml.bz2")
    assert dest.read_bytes() == data
    assert site.gets(WIKIPEDIA) == [(None, 200), (f"bytes={len(data) // 2}-", 206)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.xml.bz2"]


def test_server_ignoring_range_restarts_from_the_start(site, world, tmp_path):
    """A server that answers a Range request with 200 (the whole file): the part is rewritten, not appended to."""
    data = world["wikidata"].read_bytes()
    site.ranges = False
    site.drop_at = len(data) // 3
    dest = get(site, WIKIDATA, tmp_path / "wd.json.gz")
    assert dest.read_bytes() == data
    assert site.gets(WIKIDATA) == [(None, 200), (f"bytes={len(data) // 3}-", 200)]


@pytest.mark.parametrize("ranges", [True, False])
def test_server_refusing_head(site, world, tmp_path, ranges):
    """The size and version come from a GET of the first byte (its Content-Range) when HEAD is refused, or from the
    Content-Length of a server that sends the whole file instead."""
    data = world["wikipedia"].read_bytes()
    site.head, site.ranges = False, ranges
    dest = get(site, WIKIPEDIA, tmp_path / "dump.xml.bz2")
    assert dest.read_bytes() == data
    assert site.gets(WIKIPEDIA) == [("bytes=0-0", 206 if ranges else 200), (None, 200)]

    site.drop_at = 2000  # then resumed with the ETag of the probe (a server without Range: the probe gets it)
    get(site, WIKIPEDIA, tmp_path / "again.xml.bz2")
    assert (tmp_path / "again.xml.bz2").read_bytes() == data
    assert site.gets(WIKIPEDIA)[-1] == (("bytes=2000-", 206) if ranges else (None, 200))


def test_interrupted_for_good_keeps_the_part_then_resumes_next_run(site, world, tmp_path):
    data = world["wikipedia"].read_bytes()
    dest = tmp_path / "dump.xml.bz2"
    site.drop_at = 1000
    with pytest.raises(FetchError, match="interrupted after 1,000 bytes") as err:
        get(site, WIKIPEDIA, dest, retries=0)
    assert "run the same command again to resume" in str(err.value) and "\n" not in str(err.value)
    assert not dest.exists() and dest.with_name(dest.name + ".part").read_bytes() == data[:1000]
    get(site, WIKIPEDIA, dest)
    assert dest.read_bytes() == data and site.gets(WIKIPEDIA)[-1] == ("bytes=1000-", 206)


def test_part_of_a_file_that_changed_on_the_server_is_not_resumed(site, world, tmp_path):
    """A .part left by a run against another version of the file (another ETag, e.g. last month's `latest`) is
    downloaded again from the start, not completed with the new file's bytes."""
    data = world["wikipedia"].read_bytes()
    dest = tmp_path / "dump.xml.bz2"
    dest.with_name(dest.name + ".part").write_bytes(b"x" * 3000)
    write_json(dest.with_name(dest.name + ".part.json"), {"url": site.base + WIKIPEDIA, "validator": '"old"'})
    get(site, WIKIPEDIA, dest)
    assert dest.read_bytes() == data and site.gets(WIKIPEDIA) == [(None, 200)]


# --- local files already there -------------------------------------------------------------------------------


def test_complete_local_file_is_kept(site, world, tmp_path):
    """A file already there that matches the published checksum is not downloaded again; with no checksum
    published, the server's size is enough."""
    dest = tmp_path / "dump.xml.bz2"
    shutil.copy(world["wikipedia"], dest)
    get(site, WIKIPEDIA, dest)
    del site.files[WIKIDATA_SUMS]
    wd = tmp_path / "wd.json.gz"
    shutil.copy(world["wikidata"], wd)
    get(site, WIKIDATA, wd)
    assert site.gets(WIKIPEDIA) == [] and site.gets(WIKIDATA) == []


def test_local_beginning_is_resumed(site, world, tmp_path):
    """A shorter local file whose bytes are the beginning of the server's (a download cut short by another tool)
    is completed with a Range request, not downloaded again."""
    data = world["wikipedia"].read_bytes()
    dest = tmp_path / "dump.xml.bz2"
    dest.write_bytes(data[:5000])
    get(site, WIKIPEDIA, dest)
    assert dest.read_bytes() == data
    assert [wanted for wanted, _ in site.gets(WIKIPEDIA)] == ["bytes=0-4999", "bytes=5000-"]


@pytest.mark.parametrize("change", ["same size", "not a beginning", "longer"])
def test_local_file_that_differs_is_an_error_unless_redownload(site, world, tmp_path, change):
    data = world["wikipedia"].read_bytes()
    mine = {
        "same size": data[:-1] + b"!",
        "not a beginning": data[:4999] + b"!",
        "longer": data + b"more",
    }[change]
    dest = tmp_path / "dump.xml.bz2"
    dest.write_bytes(mine)
    with pytest.raises(FetchError, match="is not the file at") as err:
        get(site, WIKIPEDIA, dest)
    assert "move it elsewhere" in str(err.value) and "--vars.redownload true" in str(err.value)
    assert dest.read_bytes() == mine and sorted(p.name for p in tmp_path.iterdir()) == ["dump.xml.bz2"]
    assert [status for _, status in site.gets(WIKIPEDIA) if status == 200] == []  # nothing downloaded
    get(site, WIKIPEDIA, dest, redownload=True)
    assert dest.read_bytes() == data


# --- checksums, errors -----------------------------------------------------------------------------------------


def test_wrong_checksum_is_refused_and_not_kept(site, world, tmp_path):
    site.files[WIKIPEDIA_SHA1] = sums("sha1", {WIKIPEDIA: b"another file"})
    result = fetch_cli(site.base, tmp_path / "assets")
    assert result.exit_code == 1
    line = error_line(result)
    assert line.startswith(f"ERROR: {site.base}{WIKIPEDIA}: the download's sha1 is ")
    assert f"{site.base}{WIKIPEDIA_SHA1} says {hashlib.sha1(b'another file').hexdigest()}" in line
    dumps = tmp_path / "assets" / "dumps"
    assert not (dumps / WIKIPEDIA.rsplit("/", 1)[1]).exists()
    assert not list(dumps.glob("*.part*")) and not (tmp_path / "assets" / "manifest.json").exists()


def test_md5_when_no_sha1_is_published(site, world, tmp_path):
    del site.files[WIKIPEDIA_SHA1]
    site.files[WIKIPEDIA_MD5] = sums("md5", {WIKIPEDIA: b"another file"})
    with pytest.raises(FetchError, match=f"md5 is {hashlib.md5(world['wikipedia'].read_bytes()).hexdigest()}"):
        get(site, WIKIPEDIA, tmp_path / "dump.xml.bz2")


def test_missing_dump_is_one_line(site, tmp_path):
    result = fetch_cli(site.base, tmp_path / "assets", "--dump-date", "20990101")
    assert result.exit_code == 1
    line = error_line(result)
    assert line.startswith(f"ERROR: {site.base}/wikidatawiki/entities/20990101/") and "not found (HTTP 404)" in line
    assert "--vars.dump_date" in line and "--vars.dump_site" in line


def test_no_server_is_one_line(tmp_path):
    with socket.socket() as sock:  # a port nothing listens on: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = fetch_cli(f"http://127.0.0.1:{port}", tmp_path / "assets")
    assert result.exit_code == 1
    line = error_line(result)
    assert line.startswith(f"ERROR: http://127.0.0.1:{port}/wikidatawiki/") and "cannot reach the server" in line
    assert "refused" in line and "--vars.wikidata_dump" in line


@pytest.mark.parametrize("site_url", ["ftp://mirror.example/dumps", "dumps.wikimedia.org", "https://x/?a=1"])
def test_dump_site_must_be_an_http_url(site_url, tmp_path):
    result = fetch_cli(site_url, tmp_path / "assets")
    assert result.exit_code == 1
    line = error_line(result)
    assert line.startswith("ERROR: vars.dump_site: ") and "not the http(s) base URL" in line
