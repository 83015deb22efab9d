"""Bad input through the step CLIs: a non-zero exit and ONE clear `ERROR:` line naming the file and, where it applies,
the line or byte offset; never a Python traceback, and never a silently empty or partial result."""

import bz2
import errno
import gzip
import json
import os
import pickle
import re
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from wikiel.kb.build import PruneSettings, build_kb
from wikiel.sources.fetch import Unreachable
from wikiel.sources.wikidata import parse_wikidata
from wikiel.sources.wikipedia import Settings, parse_wikipedia
from wikiel.util import InputError, cli_errors, os_error_message


@pytest.fixture(scope="module")
def world(make_world, tmp_path_factory):
    """A small world: key -> path, plus `json` (the Wikidata dump decompressed) and `xml` (the Wikipedia dump)."""
    root = tmp_path_factory.mktemp("bad-input")
    files = make_world(seed=0)
    files["json"] = root / "entities.json"
    files["json"].write_bytes(gzip.decompress(files["wikidata"].read_bytes()))
    files["xml"] = root / "pages.xml"
    files["xml"].write_bytes(bz2.decompress(files["wikipedia"].read_bytes()))
    return files


@pytest.fixture(scope="module")
def parsed(world, tmp_path_factory):
    """Parse outputs of the world, with a dev split of 10% (`wikipedia`), of zero (`wikipedia_no_dev`) and of 100%
    (`wikipedia_all_dev`), and a KB built from the no-dev one."""
    root = tmp_path_factory.mktemp("parsed")
    parse_wikidata([world["wikidata"]], root / "wikidata", progress=False)
    parse_wikipedia(world["wikipedia"], root / "wikipedia", progress=False)
    parse_wikipedia(world["wikipedia"], root / "wikipedia_no_dev", Settings(dev_percent=0), progress=False)
    # every article in dev (the CLI refuses --dev-percent 100; a custom corpus can still put every document in dev)
    parse_wikipedia(world["wikipedia"], root / "wikipedia_all_dev", Settings(dev_percent=100), progress=False)
    build_kb(
        root / "wikidata",
        root / "wikipedia_no_dev",
        root / "kb",
        PruneSettings(min_freq=2, min_pair=1),
        vector_dim=16,
        vector_epochs=1,
    )
    return root


def run(command, *args):
    return run_cli(command, *args, timeout=300)


def error_line(proc, own_line=True):
    """The one `ERROR:` line of a failed run. Progress bars share stderr (and end their updates with \\r), so stderr
    is split at \\r and \\n; with own_line, the line must start with `ERROR:`."""
    assert proc.returncode != 0, f"exit code 0, stdout: {proc.stdout[-500:]!r}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in re.split(r"[\r\n]", proc.stderr) if "ERROR:" in line]
    assert len(lines) == 1, proc.stderr[-3000:]
    if own_line:
        assert lines[0].startswith("ERROR:"), lines[0]
    return lines[0][lines[0].index("ERROR:") :]


def located(path):
    """A regex for the start of an error line naming `path` and a line or byte offset in it."""
    return rf"ERROR: {re.escape(str(path))}(:\d+| \(byte [\d,]+\)): "


def write(path, data):
    path.write_bytes(data)
    return path


def flip(data, at=None, n=64):
    """The data with n bytes inverted from `at` (default: the middle), as in a damaged bz2 block."""
    at = len(data) // 2 if at is None else at
    return data[:at] + bytes(b ^ 0xFF for b in data[at : at + n]) + data[at + n :]


def entity_lines(world):
    """The lines of the Wikidata dump, and the indexes of those the pre-filter passes (with an enwiki sitelink)."""
    lines = world["json"].read_bytes().split(b"\n")
    return lines, [i for i, line in enumerate(lines) if b'"enwiki"' in line]


# --- parse-wikidata -----------------------------------------------------------------------------------------


def test_wikidata_truncated_gz(world, tmp_path):
    dump = write(tmp_path / "latest-all.json.gz", world["wikidata"].read_bytes()[:100_000])
    line = error_line(run("parse-wikidata", tmp_path / "out", "--dump", dump))
    assert re.match(located(dump) + "cannot be read", line) and "truncated" in line
    assert not (tmp_path / "out" / "entities.jsonl").exists()


def test_wikidata_truncated_bz2(world, tmp_path):
    data = bz2.compress(world["json"].read_bytes())
    dump = write(tmp_path / "latest-all.json.bz2", data[: len(data) // 2])
    line = error_line(run("parse-wikidata", tmp_path / "out", "--dump", dump))
    assert re.match(located(dump) + "cannot be read", line) and "truncated" in line


@pytest.mark.parametrize(
    "script, content",
    [
        ("parse-wikidata", "json"),
        ("parse-wikipedia", "xml"),
    ],
)
def test_truncation_is_located(world, tmp_path, script, content):
    data = gzip.compress(world[content].read_bytes())
    dump = write(tmp_path / "dump.gz", data[: len(data) // 2])
    line = error_line(run(script, tmp_path / "out", "--dump", dump))
    offset = re.search(r"\(byte ([\d,]+)\)", line)
    assert offset and int(offset.group(1).replace(",", "")) >= len(data) // 4, line


def test_wikidata_corrupt_bz2_block(world, tmp_path):
    dump = write(tmp_path / "latest-all.json.bz2", flip(bz2.compress(world["json"].read_bytes())))
    line = error_line(run("parse-wikidata", tmp_path / "out", "--dump", dump))
    assert re.match(located(dump) + "cannot be read", line) and "corrupt" in line


def malformed_dump(world, tmp_path):
    lines, passing = entity_lines(world)
    for i in passing[:5]:
        lines[i] = b"{" + lines[i]
    return write(tmp_path / "malformed.json", b"\n".join(lines)), passing[2] + 1


def test_wikidata_malformed_lines_beyond_max_bad_lines(world, tmp_path):
    dump, third_bad = malformed_dump(world, tmp_path)
    line = error_line(run("parse-wikidata", tmp_path / "out", "--dump", dump, "--max-bad-lines", "2"), own_line=False)
    assert line.startswith(f"ERROR: {dump}:{third_bad}: more than 2 lines are not entity JSON")
    assert "--max-bad-lines" in line


def test_wikidata_error_starts_its_own_line(world, tmp_path):
    dump, _ = malformed_dump(world, tmp_path)
    error_line(run("parse-wikidata", tmp_path / "out", "--dump", dump, "--max-bad-lines", "2"))


def test_wikidata_non_utf8(world, tmp_path):
    lines, passing = entity_lines(world)
    i = passing[0]
    lines[i] = lines[i].replace(b'"value":"', b'"value":"\xff\xfe', 1)
    dump = write(tmp_path / "latin1.json", b"\n".join(lines))
    line = error_line(run("parse-wikidata", tmp_path / "out", "--dump", dump, "--max-bad-lines", "0"), own_line=False)
    assert line.startswith(f"ERROR: {dump}:{i + 1}: more than 0 lines are not entity JSON or not UTF-8")


def test_wikidata_given_xml(world, tmp_path):
    line = error_line(run("parse-wikidata", tmp_path / "out", "--dump", world["wikipedia"]))
    assert line.startswith(f"ERROR: {world['wikipedia']}:1: is XML (a Wikipedia dump?), not Wikidata entity JSON")


@pytest.mark.parametrize("script", ["parse-wikidata", "parse-wikipedia"])
def test_empty_file(script, tmp_path):
    dump = write(tmp_path / "dump", b"")
    assert error_line(run(script, tmp_path / "out", "--dump", dump)).startswith(f"ERROR: {dump}: is empty")


@pytest.mark.parametrize("script", ["parse-wikidata", "parse-wikipedia"])
def test_directory(script, tmp_path):
    line = error_line(run(script, tmp_path / "out", "--dump", tmp_path))
    assert line.startswith(f"ERROR: {tmp_path}: is a directory")


def test_wikidata_unknown_language(world, tmp_path):
    line = error_line(run("parse-wikidata", tmp_path / "out", "--dump", world["wikidata"], "--lang", "xx"))
    assert "no item with a 'xxwiki' sitelink" in line and "--lang ('xx')" in line
    assert not (tmp_path / "out" / "entities.jsonl").exists()


# --- parse-wikipedia ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix, compress", [("bz2", bz2.compress), ("gz", gzip.compress)])
def test_wikipedia_truncated(world, tmp_path, suffix, compress):
    data = compress(world["xml"].read_bytes())
    dump = write(tmp_path / f"pages.xml.{suffix}", data[: len(data) // 2])
    line = error_line(run("parse-wikipedia", tmp_path / "out", "--dump", dump))
    assert re.match(located(dump) + "cannot read or decompress", line) and "truncated" in line
    assert not (tmp_path / "out" / "articles.jsonl").exists()


def test_wikipedia_truncated_multistream(world, tmp_path):
    data = world["wikipedia"].read_bytes()
    dump = write(tmp_path / world["wikipedia"].name, data[: len(data) // 2])
    line = error_line(
        run(
            "parse-wikipedia",
            tmp_path / "out",
            "--dump",
            dump,
            "--index",
            world["wikipedia_index"],
            "--n-process",
            "2",
        )
    )
    assert re.match(
        located(world["wikipedia_index"]) + rf"offset [\d,]+ is beyond the end of {re.escape(str(dump))}", line
    )


def test_wikipedia_corrupt_bz2_block(world, tmp_path):
    dump = write(tmp_path / "pages.xml.bz2", flip(bz2.compress(world["xml"].read_bytes())))
    line = error_line(run("parse-wikipedia", tmp_path / "out", "--dump", dump))
    assert re.match(located(dump) + "cannot read or decompress", line)


def run_with_chunk_bytes(argv, chunk_bytes):
    """The CLI with parse-wikipedia's worker tasks of `chunk_bytes` (2 MB by default: a small dump is one task)."""
    code = (
        f"import sys; import wikiel.sources.wikipedia as w; from wikiel.cli import app; "
        f"w.CHUNK_BYTES = {chunk_bytes}; app({argv!r}, prog_name='wikiel')"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_wikipedia_corrupt_stream_inside_a_multistream_range(world, tmp_path):
    offsets = sorted(
        {int(line.split(b":", 1)[0]) for line in bz2.decompress(world["wikipedia_index"].read_bytes()).splitlines()}
    )
    damaged = offsets[1]  # the second stream of the first range of worker tasks
    data = flip(world["wikipedia"].read_bytes(), (offsets[1] + offsets[2]) // 2)
    dump = write(tmp_path / world["wikipedia"].name, data)
    # worker tasks of 3 streams
    argv = [
        "parse-wikipedia",
        str(tmp_path / "out"),
        "--dump",
        str(dump),
        "--index",
        str(world["wikipedia_index"]),
        "--n-process",
        "2",
    ]
    proc = run_with_chunk_bytes(argv, offsets[3] - offsets[0])
    line = error_line(proc)
    assert line.startswith(f"ERROR: {dump}") and re.search(rf"\b({damaged}|{damaged:,})\b", line), line


def test_wikipedia_bytes_between_streams_inside_a_range(world, tmp_path):
    """Bytes that are no bz2 stream between two streams of a worker's range (the index shifted past them): the
    workers' decoder (indexed_bzip2) stops before them without failing, which must not drop the streams after them:
    an error naming the byte where they start, and no other line (such as the decoder's own warning)."""
    index_lines = bz2.decompress(world["wikipedia_index"].read_bytes()).splitlines()
    offsets = sorted({int(line.split(b":", 1)[0]) for line in index_lines})
    junk_at, junk = offsets[2], b"not a bz2 stream"
    data = world["wikipedia"].read_bytes()
    dump = write(tmp_path / world["wikipedia"].name, data[:junk_at] + junk + data[junk_at:])

    def shifted(line: bytes) -> bytes:
        offset, rest = line.split(b":", 1)
        return b"%d:%s" % (int(offset) + (len(junk) if int(offset) >= junk_at else 0), rest)

    index = write(tmp_path / world["wikipedia_index"].name, bz2.compress(b"\n".join(map(shifted, index_lines))))
    argv = ["parse-wikipedia", str(tmp_path / "out"), "--dump", str(dump), "--index", str(index), "--n-process", "2"]
    proc = run_with_chunk_bytes(argv, offsets[4] - offsets[0])
    line = error_line(proc)
    assert line.startswith(f"ERROR: {dump}") and re.search(rf"\b({junk_at}|{junk_at:,})\b", line), line
    assert "arning" not in proc.stderr, proc.stderr[-3000:]
    assert not (tmp_path / "out" / "articles.jsonl").exists()


def test_wikipedia_xml_cut_mid_page(world, tmp_path):
    xml = world["xml"].read_bytes()
    cut = xml.index(b"<page>", len(xml) // 2) + 200
    dump = write(tmp_path / "pages.xml", xml[:cut])
    last_line = xml[:cut].count(b"\n") + 1
    line = error_line(run("parse-wikipedia", tmp_path / "out", "--dump", dump))
    assert line.startswith(f"ERROR: {dump}:{last_line}: the XML ends in the middle of an element")


def test_wikipedia_non_utf8(world, tmp_path):
    xml = world["xml"].read_bytes()
    at = xml.index(b">", xml.index(b"<text", len(xml) // 3)) + 1
    dump = write(tmp_path / "pages.xml", xml[:at] + b"caf\xe9 " + xml[at:])
    bad_line = xml[:at].count(b"\n") + 1
    line = error_line(run("parse-wikipedia", tmp_path / "out", "--dump", dump))
    assert line.startswith(f"ERROR: {dump}:{bad_line}: malformed XML (not well-formed")


def test_wikipedia_given_wikidata_json(world, tmp_path):
    line = error_line(run("parse-wikipedia", tmp_path / "out", "--dump", world["wikidata"]))
    assert line.startswith(f"ERROR: {world['wikidata']}:1: is not XML")


def test_wikipedia_unknown_language(world, tmp_path):
    line = error_line(run("parse-wikipedia", tmp_path / "out", "--dump", world["wikipedia"], "--lang", "xx"))
    assert line.startswith(f"ERROR: {world['wikipedia']}") and "enwiki" in line and "--lang" in line
    assert not (tmp_path / "out" / "articles.jsonl").exists()


# --- build-kb and extract-mentions: never a silently empty result --------------------------------------------


def test_build_kb_nothing_passes_pruning(parsed, tmp_path):
    line = error_line(
        run("build-kb", parsed / "wikidata", parsed / "wikipedia", tmp_path / "kb", "--min-freq", "1000000")
    )
    assert "no entity passed pruning (min_freq=1000000" in line and "vars.min_freq" in line
    assert not (tmp_path / "kb" / "kb").exists()


@pytest.mark.parametrize("option", ["--max-per-alias", "--max-entities", "--max-aliases", "--min-freq", "--min-pair"])
def test_build_kb_zero_limit_is_refused_naming_the_var(parsed, tmp_path, option):
    """`max_per_alias 0` built a KB with 0 pairs (exit 0); `max_entities 0` and `max_aliases 0` failed after reading
    everything, blaming min_freq / min_pair. Now: one line naming the option and its var, before any work."""
    out = tmp_path / "kb"
    line = error_line(run("build-kb", parsed / "wikidata", parsed / "wikipedia", out, option, "0"))
    var = option[2:].replace("-", "_")
    assert line == f"ERROR: {option} (vars.{var}) must be >= 1, got 0"
    assert not out.exists()


def test_build_kb_without_train_links_names_the_dev_split(parsed, tmp_path):
    """Every article in dev: no link counts, so no entity. The message said `lower vars.min_freq`."""
    line = error_line(run("build-kb", parsed / "wikidata", parsed / "wikipedia_all_dev", tmp_path / "kb"))
    assert "no links in the train articles" in line and "vars.dev_percent" in line, line
    assert "min_freq" not in line
    assert not (tmp_path / "kb" / "kb").exists()


def test_parse_wikipedia_all_dev_is_refused(world, tmp_path):
    """`dev_percent 100` leaves no train article; it failed in build-kb, blaming min_freq."""
    line = error_line(run("parse-wikipedia", tmp_path / "out", "--dump", world["wikipedia"], "--dev-percent", "100"))
    assert line == "ERROR: --dev-percent (vars.dev_percent) must be >= 0 and < 100, got 100"
    assert not (tmp_path / "out").exists()


def test_build_kb_missing_parse_output(parsed, tmp_path):
    line = error_line(run("build-kb", tmp_path / "nowhere", parsed / "wikipedia", tmp_path / "kb"))
    assert line.startswith(f"ERROR: {tmp_path / 'nowhere' / 'entities.jsonl'}: does not exist")
    assert "parse-wikidata" in line


def test_build_kb_unknown_language(parsed, tmp_path):
    # 'zz' is no spaCy language ('xx' is spaCy's multi-language code).
    line = error_line(
        run(
            "build-kb",
            parsed / "wikidata",
            parsed / "wikipedia",
            tmp_path / "kb",
            "--min-freq",
            "2",
            "--min-pair",
            "1",
            "--vector-epochs",
            "1",
            "--lang",
            "zz",
        )
    )
    assert "'zz'" in line and "lang" in line


def test_extract_mentions_without_dev_split(parsed, tmp_path):
    line = error_line(run("extract-mentions", parsed / "wikipedia_no_dev", parsed / "kb", tmp_path / "mentions"))
    assert "no dev mentions" in line and "dev_percent" in line
    assert not (tmp_path / "mentions" / "train.spacy").exists()


def test_extract_mentions_unknown_language(parsed, tmp_path):
    line = error_line(
        run("extract-mentions", parsed / "wikipedia", parsed / "kb", tmp_path / "mentions", "--lang", "zz")
    )
    assert "'zz'" in line and "lang" in line


def test_extract_mentions_missing_kb(parsed, tmp_path):
    line = error_line(run("extract-mentions", parsed / "wikipedia", tmp_path / "nowhere", tmp_path / "mentions"))
    assert line.startswith(f"ERROR: {tmp_path / 'nowhere'}") and "build-kb" in line


# --- duplicate entity ids: removed by parse-wikidata, refused by build-kb before the KB crashes on them ---------


def kb_entity_line(parsed):
    """The number (1-based) and text of a line of entities.jsonl whose entity passes pruning into the KB."""
    kept = {json.loads(line)["qid"] for line in (parsed / "kb" / "entities.jsonl").read_text().splitlines()}
    lines = (parsed / "wikidata" / "entities.jsonl").read_bytes().splitlines(keepends=True)
    return next((i, line) for i, line in enumerate(lines, 1) if json.loads(line)["qid"] in kept), lines


def test_build_kb_refuses_a_duplicate_entity_before_training_vectors(parsed, tmp_path):
    (number, line), lines = kb_entity_line(parsed)
    wikidata = Path(shutil.copytree(parsed / "wikidata", tmp_path / "wikidata"))
    (wikidata / "entities.jsonl").write_bytes(b"".join(lines) + line)  # the same entity again, last (spaCy: exit 139)
    (wikidata / ".wikiel-step.json").unlink()  # edited by hand: no longer the step's output as its manifest says
    proc = run("build-kb", wikidata, parsed / "wikipedia_no_dev", tmp_path / "kb", "--min-freq", 2, "--min-pair", 1)
    message = error_line(proc)
    qid = json.loads(line)["qid"]
    assert message.startswith(f"ERROR: {wikidata / 'entities.jsonl'}:{len(lines) + 1}: entity id {qid!r} is already")
    assert f"on line {number}" in message and "parse-wikidata" in message
    assert not (tmp_path / "kb" / "vectors").exists() and not (tmp_path / "kb" / "kb").exists()


@pytest.mark.parametrize(
    "table, row, expected",
    [
        ("inlink_counts.tsv", "Paris\tnan\n", "the count 'nan' is not a non-negative integer"),
        ("link_counts.tsv", "Paris\tParis\t1.5\n", "the count '1.5' is not a non-negative integer"),
    ],
)
def test_build_kb_bad_counts_are_located(parsed, tmp_path, table, row, expected):
    wikipedia = Path(shutil.copytree(parsed / "wikipedia_no_dev", tmp_path / "wikipedia"))
    rows = (wikipedia / table).read_text()
    (wikipedia / table).write_text(rows + row)
    (wikipedia / ".wikiel-step.json").unlink()  # edited by hand: no longer the step's output as its manifest says
    proc = run("build-kb", parsed / "wikidata", wikipedia, tmp_path / "kb", "--min-freq", 2, "--min-pair", 1)
    message = error_line(proc)
    assert message.startswith(f"ERROR: {wikipedia / table}:{rows.count(chr(10)) + 1}: {expected}")


def test_duplicate_entities_parsed_then_kb_built(world, parsed, tmp_path):
    """The same entity twice in one dump file and again in a second file: parse-wikidata keeps the first of each
    (the output is the one of the dump without duplicates) and build-kb builds the KB."""
    (_, line), _ = kb_entity_line(parsed)
    qid = json.loads(line)["qid"]
    dump_lines = world["json"].read_bytes().splitlines(keepends=True)
    at = next(i for i, raw in enumerate(dump_lines) if re.search(rf'"id": ?"{qid}"'.encode(), raw))
    entity = dump_lines[at]
    doubled = write(tmp_path / "doubled.json", b"".join(dump_lines[: at + 1] + [entity] + dump_lines[at + 1 :]))
    second = write(tmp_path / "second.json.gz", gzip.compress(b"[\n" + entity.rstrip(b",\n") + b"\n]\n"))
    proc = run("parse-wikidata", tmp_path / "wikidata", "--dump", doubled, "--dump", second, "--n-process", 2)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"note: 2 entities skipped whose id came earlier in the input (the first is kept; first: {qid} at" in (
        proc.stdout
    )
    stats = json.loads((tmp_path / "wikidata" / "stats.json").read_text())["counts"]
    assert stats["duplicate_entities"] == 2
    for name in ("entities.jsonl", "subclass_of.tsv"):
        assert (tmp_path / "wikidata" / name).read_bytes() == (parsed / "wikidata" / name).read_bytes()
    proc = run(
        "build-kb", tmp_path / "wikidata", parsed / "wikipedia_no_dev", tmp_path / "kb", "--min-freq", 2,
        "--min-pair", 1, "--vector-dim", 16, "--vector-epochs", 1,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "kb" / "stats.json").read_text())["counts"]["entities"] > 0


def test_probes_beyond_the_issue_are_one_line(tmp_path):
    """Found by probing as a hostile user: a missing training config, a dev file that is not a DocBin and a file
    given as the pipeline each gave spaCy's message or a traceback."""
    import spacy

    model = tmp_path / "model"
    spacy.blank("en").to_disk(model)
    text = tmp_path / "docs.jsonl"
    text.write_text('{"text": "Paris."}\n')
    for args, message in [
        (("train", tmp_path / "none.cfg", tmp_path, tmp_path, tmp_path / "out"), "none.cfg: does not exist"),
        (("evaluate", model, text, tmp_path / "eval"), "docs.jsonl: is not a spaCy DocBin (.spacy) file"),
        (("link", text, text, tmp_path / "linked.jsonl"), "docs.jsonl: is not a spaCy pipeline directory"),
    ]:
        proc = run_cli(*args)
        assert proc.returncode == 1 and f"ERROR: {tmp_path}/{message}" in proc.stderr, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr


# --- OS errors: one line naming the path, in every step --------------------------------------------------------
# Mechanisms that work as root (where chmod does not stop writes) as for a normal user: a regular file where a
# directory of the output path should be (ENOTDIR), sysfs (creating anything there is refused), and a file size limit
# (RLIMIT_FSIZE, with SIGXFSZ ignored: writes fail with EFBIG, standing in for a full disk).


def step_args(step, world, parsed, out):
    """A command line of `step` writing to `out` (a small run: the error comes before or during its writes)."""
    return {
        "fetch": ["fetch", out, "--source", "world", "--world-entities", "60", "--world-articles", "30"],
        "parse-wikidata": ["parse-wikidata", out, "--dump", world["wikidata"], "--n-process", "2"],
        "parse-wikipedia": [
            "parse-wikipedia",
            out,
            "--dump",
            world["wikipedia"],
            "--index",
            world["wikipedia_index"],
            "--n-process",
            "2",
        ],
        "build-kb": [
            "build-kb",
            parsed / "wikidata",
            parsed / "wikipedia_no_dev",
            out,
            "--min-freq",
            "2",
            "--min-pair",
            "1",
            "--vector-dim",
            "16",
            "--vector-epochs",
            "1",
        ],
        "extract-mentions": ["extract-mentions", parsed / "wikipedia", parsed / "kb", out],
    }[step]


OUTPUT_STEPS = ["fetch", "parse-wikidata", "parse-wikipedia", "build-kb", "extract-mentions"]


@pytest.mark.parametrize("step", OUTPUT_STEPS)
def test_output_path_under_a_file(step, world, parsed, tmp_path):
    blocker = write(tmp_path / "a-file", b"not a directory\n")
    line = error_line(run(*step_args(step, world, parsed, blocker / "out")))
    assert line.startswith(f"ERROR: {blocker}/") and "Not a directory" in line, line
    assert blocker.read_bytes() == b"not a directory\n"


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs sysfs (Linux), where nobody may create files")
@pytest.mark.parametrize("step", ["parse-wikidata", "parse-wikipedia"])
def test_output_permission_denied(step, world, parsed):
    out = Path("/sys/kernel/wikiel-out")  # sysfs exists: the step gets as far as creating its staging directory
    line = error_line(run(*step_args(step, world, parsed, out)))
    assert line.startswith(f"ERROR: {out.parent}/"), line
    assert re.search("Permission denied|Operation not permitted", line), line


def limit_file_size(limit):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@pytest.mark.parametrize("step", ["parse-wikidata", "parse-wikipedia", "build-kb"])
def test_output_file_size_limit(step, world, parsed, tmp_path):
    """Files stop growing at 64 KB, as on a disk that fills up mid-step: one line naming the output, no temporary
    files left behind."""
    out = tmp_path / "out"
    proc = run_cli(*step_args(step, world, parsed, out), timeout=300, preexec_fn=limit_file_size(64 << 10))
    line = error_line(proc)
    assert "File too large" in line and str(out) in line and "ulimit -f" in line, line
    assert [p.name for p in out.rglob("*")] == [], "outputs or temporary files left"


def test_os_error_message_names_the_path_and_what_to_do():
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "out/entities.jsonl")
    assert (
        os_error_message(full) == f"out/entities.jsonl: {os.strerror(errno.ENOSPC)} (the disk is full: free some "
        "space or write the outputs to another disk, then rerun)"
    )
    renamed = OSError(errno.EROFS, os.strerror(errno.EROFS), "out/.kb.tmp-1", None, "out/kb")  # as os.replace
    assert os_error_message(renamed).startswith(f"out/.kb.tmp-1 -> out/kb: {os.strerror(errno.EROFS)} (")
    assert os_error_message(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))).startswith(os.strerror(errno.ENOSPC))
    assert os_error_message(OSError("Not a gzipped file (b'ab')")) == "Not a gzipped file (b'ab')"


def test_cli_errors_turns_os_errors_into_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info, cli_errors():
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), "/data/out")
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == (
        f"ERROR: /data/out: {os.strerror(errno.EACCES)} (check the permissions of the path or choose another one)\n"
    )


@pytest.mark.parametrize(
    "err",
    [
        InputError("dump.json", "bad line", line=3, hint="fix it"),
        InputError("dump.bz2", "corrupt", offset=1234),
        Unreachable("https://dumps.wikimedia.org/", "timed out", hint="check the network"),
    ],
    ids=["line", "offset", "subclass"],
)
def test_input_error_survives_pickling(err):
    """What a worker process raises reaches the main process through a pipe, pickled: intact, whatever its class."""
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err) and str(copy) == str(err) and vars(copy) == vars(err)
