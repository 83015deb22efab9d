"""Killed and interrupted steps: a step killed at any moment leaves no incomplete output under a final name, a rerun
gives the bytes of an uninterrupted run, and Ctrl-C stops a multi-process step promptly without orphan workers."""

import gzip
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List

import orjson
import pytest

from conftest import WIKIEL
from wikiel.sources.fetch import write_manifest
from wikiel.synthetic.world import generate_world

pytestmark = pytest.mark.slow  # whole steps or the whole workflow, end to end

# Seconds after the start at which each step is killed (build-kb trains floret vectors for most of its ~15 s).
KILL_AFTER = {
    "parse-wikidata": (0.2, 0.5, 1.0),
    "parse-wikipedia": (0.2, 0.5, 1.0),
    "build-kb": (2.0, 8.0),
}
STEP_TIMEOUT = 300


def command(step: str, inputs: Dict[str, Path]) -> List[str]:
    """The step's command line; it writes to `out` in its working directory, so that stats.json (which records
    paths) is comparable between runs in different directories."""
    if step == "parse-wikidata":
        return [*WIKIEL, "parse-wikidata", "out", "--manifest", str(inputs["manifest"])]
    if step == "parse-wikipedia":
        return [
            *WIKIEL,
            "parse-wikipedia",
            "out",
            "--manifest",
            str(inputs["manifest"]),
            "--n-process",
            "2",
        ]
    return [
        *WIKIEL,
        "build-kb",
        str(inputs["parse-wikidata"]),
        str(inputs["parse-wikipedia"]),
        "out",
        "--min-freq",
        "5",
        "--min-pair",
        "3",
    ]


def start(args: List[str], cwd: Path, **kwargs) -> subprocess.Popen:
    """Start a step in its own session (and process group), so that its workers can be signalled and found."""
    return subprocess.Popen(args, cwd=cwd, start_new_session=True, **kwargs)


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the step and its workers, as a machine or container going down does."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.002)


def temporary_files(directory: Path) -> List[str]:
    """Names of the temporary outputs (`.name.tmp-PID`, `.spill-*`) in an output directory."""
    return sorted(p.name for p in directory.glob(".*")) if directory.is_dir() else []


def outputs(directory: Path) -> Dict[str, Dict[str, bytes]]:
    """The outputs under their final names (top-level entries not starting with '.'): name -> {file: content}.
    stats.json is compared by its counts (seconds and memory differ between runs)."""
    found: Dict[str, Dict[str, bytes]] = {}
    for entry in sorted(directory.iterdir()) if directory.is_dir() else []:
        if entry.name.startswith("."):
            continue
        files = [entry] if entry.is_file() else sorted(p for p in entry.rglob("*") if p.is_file())
        found[entry.name] = {p.relative_to(directory).as_posix(): p.read_bytes() for p in files}
    if "stats.json" in found:
        found["stats.json"] = {"counts": orjson.dumps(orjson.loads(found["stats.json"]["stats.json"])["counts"])}
    return found


def incomplete(directory: Path, reference: Path) -> List[str]:
    """The final-named outputs in `directory` that are not those of the uninterrupted run."""
    expected = outputs(reference)
    return [name for name, files in outputs(directory).items() if files != expected.get(name)]


@pytest.fixture(scope="module")
def references(make_world, tmp_path_factory) -> Dict[str, Path]:
    """A small world, its manifest and the output directory of an uninterrupted run of each step."""
    root = tmp_path_factory.mktemp("interrupts")
    files = make_world(seed=0)
    write_manifest(root, "world", "en", None, [files["wikidata"]], files["wikipedia"], files["wikipedia_index"])
    found = {"manifest": root / "manifest.json", "world": files["wikidata"].parent}
    for step in KILL_AFTER:
        cwd = root / "reference" / step
        cwd.mkdir(parents=True)
        subprocess.run(command(step, found), cwd=cwd, check=True, capture_output=True, timeout=STEP_TIMEOUT)
        found[step] = cwd / "out"
    return found


@pytest.fixture(scope="module", params=list(KILL_AFTER))
def interrupted(request, references, tmp_path_factory):
    """Run a step in one directory, killing it after each delay and once as soon as it writes a temporary output,
    then run it to completion. Returns (step, its output directory, what was incomplete after each kill)."""
    step = request.param
    args = command(step, references)
    cwd = tmp_path_factory.mktemp(step)
    out = cwd / "out"
    found = []
    for delay in KILL_AFTER[step]:
        proc = start(args, cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        kill(proc)
        found += [f"killed after {delay} s: {name}" for name in incomplete(out, references[step])]
    left = set(temporary_files(out))  # by the killed runs
    proc = start(args, cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: bool(set(temporary_files(out)) - left) or proc.poll() is not None)
    kill(proc)
    found += [f"killed while writing: {name}" for name in incomplete(out, references[step])]
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=STEP_TIMEOUT)
    return step, out, found


def test_killed_step_leaves_no_incomplete_output(interrupted):
    step, _, found = interrupted
    assert found == [], f"{step}: final-named outputs that differ from an uninterrupted run's: {found}"


def test_rerun_after_kills_matches_uninterrupted_run(interrupted, references):
    step, out, _ = interrupted
    got, expected = outputs(out), outputs(references[step])
    assert sorted(got) == sorted(expected)
    assert [name for name in expected if got[name] != expected[name]] == []


def test_rerun_after_kills_leaves_no_temporary_files(interrupted):
    step, out, _ = interrupted
    assert temporary_files(out) == [], step


# --- Ctrl-C -------------------------------------------------------------------------------------------------


def session_members(sid: int) -> List[int]:
    """Pids of the live (not zombie) processes of a session, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        state, _ppid, _pgrp, session = text[text.rindex(")") + 2 :].split()[:4]
        if state != "Z" and int(session) == sid:
            members.append(int(stat.parent.name))
    return members


@pytest.fixture(scope="module")
def big_inputs(references, tmp_path_factory) -> Dict[str, Path]:
    """Inputs that keep a step with 2 processes busy for a few seconds: the world's entities repeated 25 times
    (about 45 MB of JSON), and a world of 1,500 articles with its multistream index."""
    root = tmp_path_factory.mktemp("big")
    lines = [
        line.rstrip(b",")
        for line in gzip.open(references["world"] / "latest-all.json.gz").read().split(b"\n")
        if line.strip() not in (b"[", b"]", b"")
    ]
    entities = root / "entities.json"
    entities.write_bytes(b"[\n" + b",\n".join(lines * 25) + b"\n]\n")
    files = generate_world(root / "world", n_entities=6000, n_articles=5000, seed=1)
    return {"wikidata": entities, "wikipedia": files["wikipedia"], "wikipedia_index": files["wikipedia_index"]}


CTRL_C = [
    pytest.param("parse-wikidata", ["--dump", "{wikidata}"], id="parse-wikidata"),
    pytest.param("parse-wikipedia", ["--dump", "{wikipedia}", "--index", "{wikipedia_index}"], id="parse-wikipedia"),
]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the worker processes")
@pytest.mark.parametrize("script, options", CTRL_C)
def test_ctrl_c_stops_promptly_without_orphans(script, options, big_inputs, tmp_path):
    args = [
        *WIKIEL,
        script,
        "out",
        *[o.format(**big_inputs) for o in options],
        "--n-process",
        "2",
    ]
    proc = start(args, tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: bool(temporary_files(tmp_path / "out")) or proc.poll() is not None)
        time.sleep(0.3)  # the workers are parsing
        assert proc.poll() is None, "the step finished before Ctrl-C: make the input bigger"
        workers = [pid for pid in session_members(proc.pid) if pid != proc.pid]
        assert workers, "no worker processes"
        # Ctrl-C in a terminal signals the whole foreground process group; which process handles it first is
        # arbitrary. Workers first is the order that shows whether they leave it to the main process.
        for pid in workers:
            os.kill(pid, signal.SIGINT)
        time.sleep(0.1)
        started = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=10)
        seconds = time.monotonic() - started
        wait_for(lambda: not session_members(proc.pid), timeout=5)
        orphans = session_members(proc.pid)
    finally:
        for pid in session_members(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            kill(proc)
    assert proc.returncode == 130 and seconds < 10
    assert orphans == [], f"worker processes left running after Ctrl-C: {orphans}"
    assert "Traceback" not in stderr, stderr
    assert "ERROR: interrupted" in stderr
    assert outputs(tmp_path / "out") == {} and temporary_files(tmp_path / "out") == []
