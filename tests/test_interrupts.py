"""Killed and interrupted steps: a step killed at any moment leaves no incomplete output under a final name, a rerun
gives the bytes of an uninterrupted run, and Ctrl-C or SIGTERM stops a multi-process step promptly and quietly, without
orphan workers or temporary files.

No test here waits on a sleep racing a process: the moments at which steps are killed or signalled are events (a
temporary output appearing, the workers held by WIKIEL_TEST_HOLD, see wikiel.util.TEST_HOLD_ENV), and timeouts are
only generous guards against a hang."""

import bz2
import gzip
import os
import signal
import subprocess
from pathlib import Path
from typing import Dict, List

import orjson
import pytest

from conftest import WIKIEL, process_report, wait_for
from wikiel.sources.fetch import write_manifest
from wikiel.util import STEP_MANIFEST, TEST_HOLD_ENV

pytestmark = pytest.mark.slow  # whole steps or the whole workflow, end to end

STEPS = ("parse-wikidata", "parse-wikipedia", "build-kb")
WORKER_STEPS = {"parse-wikidata", "parse-wikipedia"}  # steps with worker processes (held by TEST_HOLD_ENV)
KILL_AT_TEMPORARIES = (1, 2, 3)  # a step is killed once the k-th temporary path has appeared (or when it ends)
STEP_TIMEOUT = 300
GUARD = 120  # seconds: only a failure guard against a hang, never what a test waits for
EXIT_GUARD = 60  # seconds for a signalled step to end (it takes well under one): a guard too


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
    """Start a step in its own session (and process group), so that its workers can be signalled and found. Ctrl-C
    is not ignored in it even when pytest runs as a background job of a shell (`pytest tests &`), which ignores it:
    an ignored signal stays ignored across exec, a handled one does not."""
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(args, cwd=cwd, start_new_session=True, **kwargs)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_step(args: List[str], cwd: Path) -> None:
    """Run a step to its end (it must succeed); a failure or a hang (STEP_TIMEOUT) reports what it was doing."""
    proc = start(args, cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = proc.communicate(timeout=STEP_TIMEOUT)
    except subprocess.TimeoutExpired:
        hung = report(proc)
        kill(proc)
        pytest.fail(f"{' '.join(args[2:4])} did not end within {STEP_TIMEOUT} s:\n{hung}")
    assert proc.returncode == 0, output.decode(errors="replace")[-4000:]


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the step and its workers, as a machine or container going down does."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def _paths_under(root: Path) -> List[Path]:
    """Every path under `root`, read while a step may be renaming or removing its staging directories."""
    found: List[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):  # os.walk skips what vanishes meanwhile; rglob raises
        found += [Path(dirpath) / name for name in dirnames + filenames]
    return found


def temporary_files(root: Path) -> List[str]:
    """The temporary paths anywhere under `root` (relative, sorted): those with `.tmp-` or a leading dot in one of
    their names (but the step manifest `.wikiel-step.json`, an output), whatever the way a step stages its outputs
    (`.name.tmp-PID`, `.spill-*.tmp-PID/...`)."""
    if not root.is_dir():
        return []
    found = []
    for path in _paths_under(root):
        parts = path.relative_to(root).parts
        if any(".tmp-" in part or (part.startswith(".") and part != STEP_MANIFEST) for part in parts):
            found.append(path.relative_to(root).as_posix())
    return sorted(found)


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
    for step in STEPS:
        cwd = root / "reference" / step
        cwd.mkdir(parents=True)
        run_step(command(step, found), cwd)
        found[step] = cwd / "out"
    return found


def held_workers(hold: Path, kind: str = "worker") -> List[int]:
    """Pids of the workers waiting at TEST_HOLD_ENV=hold (each creates `hold.worker-PID` once it waits); with kind
    "decoder", of the processes whose gzip decoder thread waits there (`hold.decoder-PID`)."""
    return sorted(int(p.name.rsplit("-", 1)[1]) for p in hold.parent.glob(f"{hold.name}.{kind}-*"))


@pytest.fixture(scope="module", params=STEPS)
def interrupted(request, references, tmp_path_factory):
    """Run a step in one directory, killing it once the k-th temporary path of the run has appeared (for each k, or
    when the step ends first) and, for the steps with workers, once while its workers are held mid-step; then run it
    to completion. Returns (step, its output directory, what was incomplete after each kill)."""
    step = request.param
    args = command(step, references)
    cwd = tmp_path_factory.mktemp(step)
    out = cwd / "out"
    found = []
    for k in KILL_AT_TEMPORARIES:
        left = set(temporary_files(cwd))  # by the killed runs
        proc = start(args, cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: len(set(temporary_files(cwd)) - left) >= k or proc.poll() is not None, GUARD):  # noqa: B023
            pytest.fail(f"{step}: no temporary path {k} within {GUARD} s:\n{report(proc)}")
        kill(proc)
        found += [f"killed at temporary path {k}: {name}" for name in incomplete(out, references[step])]
    if step in WORKER_STEPS:
        hold = cwd.parent / f"{cwd.name}-hold"
        env = {**os.environ, TEST_HOLD_ENV: str(hold)}
        proc = start(args, cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        held = lambda: bool(held_workers(hold) or held_workers(hold, "decoder"))  # noqa: E731
        if not wait_for(lambda: held() or proc.poll() is not None, GUARD):
            pytest.fail(f"{step}: its workers were not held within {GUARD} s:\n{report(proc)}")
        assert proc.poll() is None, "the step ended with its workers held"
        kill(proc)
        found += [f"killed with its workers held: {name}" for name in incomplete(out, references[step])]
    run_step(args, cwd)
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
    assert temporary_files(out.parent) == [], step


# --- Ctrl-C and SIGTERM ------------------------------------------------------------------------------------


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


def report(proc: subprocess.Popen) -> str:
    """What each process of the step's session is doing (stacks, kernel waits, signal masks), for a failure."""
    return process_report(session_members(proc.pid))


def signal_set(pid: int, field: str) -> int:
    """A signal mask of /proc/PID/status (SigIgn: ignored, SigCgt: caught by a handler, ShdPnd: pending)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def has(mask: int, signum: int) -> bool:
    return bool(mask >> (signum - 1) & 1)


SIGNALS = [
    # A terminal sends Ctrl-C to the whole foreground process group.
    pytest.param(signal.SIGINT, True, 130, "interrupted", id="ctrl-c"),
    # `kill PID`, a container stopping: the main process alone.
    pytest.param(signal.SIGTERM, False, 143, "terminated", id="sigterm"),
    # `timeout`, `kill -- -PGID`, systemd stopping a service: every process of the group.
    pytest.param(signal.SIGTERM, True, 143, "terminated", id="sigterm-group"),
]
STEPS_WITH_WORKERS = [  # the step, its options (after --n-process 2), its worker processes and gzip decoder threads
    # gz: a decoder process decodes, the main process pre-filters and parses (1 worker: in the main process)
    pytest.param("parse-wikidata", ["--dump", "{wikidata}"], 1, 0, id="parse-wikidata"),
    # gz with one process: a decoder thread
    pytest.param("parse-wikidata", ["--dump", "{wikidata}", "--n-process", "1"], 0, 1, id="parse-wikidata-thread"),
    # bz2: a decoder process
    pytest.param("parse-wikidata", ["--dump", "{wikidata_bz2}"], 1, 0, id="parse-wikidata-bz2"),
    pytest.param(
        "parse-wikipedia",
        ["--dump", "{wikipedia}", "--index", "{wikipedia_index}"],
        2,
        0,
        id="parse-wikipedia-multistream",
    ),
    pytest.param("parse-wikipedia", ["--dump", "{wikipedia}"], 2, 0, id="parse-wikipedia"),
]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to find the worker processes")
@pytest.mark.parametrize("script, options, n_workers, n_decoders", STEPS_WITH_WORKERS)
@pytest.mark.parametrize("signum, to_group, code, word", SIGNALS)
def test_signal_stops_step_quietly_without_orphans(
    script, options, n_workers, n_decoders, signum, to_group, code, word, make_world, tmp_path
):
    """The step is signalled while its workers (or its decoder thread) are held (WIKIEL_TEST_HOLD), so it cannot have
    finished before."""
    files = make_world(seed=0)
    work, hold, log = tmp_path / "work", tmp_path / "hold", tmp_path / "stderr"
    work.mkdir()
    if "{wikidata_bz2}" in options:
        files["wikidata_bz2"] = tmp_path / "wikidata.json.bz2"
        files["wikidata_bz2"].write_bytes(bz2.compress(gzip.decompress(files["wikidata"].read_bytes())))
    args = [*WIKIEL, script, "out", "--n-process", "2", *[o.format(**files) for o in options]]
    with open(log, "w") as stderr:
        proc = start(args, work, stdout=subprocess.DEVNULL, stderr=stderr, env={**os.environ, TEST_HOLD_ENV: str(hold)})
    try:
        # The workers wait at the hold, and the main process has opened its outputs: the step is mid-way.
        started = wait_for(
            lambda: (
                (
                    len(held_workers(hold)) >= n_workers
                    and len(held_workers(hold, "decoder")) >= n_decoders
                    and bool(temporary_files(work))
                )
                or proc.poll() is not None
            ),
            GUARD,
        )
        if not started or proc.poll() is not None:
            pytest.fail(f"the step did not get mid-way: {log.read_text()[-2000:]}\n{report(proc)}")
        workers = [pid for pid in session_members(proc.pid) if pid != proc.pid]
        assert sorted(workers) == held_workers(hold), "workers other than the held ones"
        for pid in workers:  # Ctrl-C is left to the main process; SIGTERM is not handled by Python code
            assert has(signal_set(pid, "SigIgn"), signal.SIGINT) and not has(signal_set(pid, "SigCgt"), signal.SIGTERM)
        if to_group:
            # Which process of the group gets the signal first is arbitrary: workers first shows whether they leave
            # it to the main process (or die quietly).
            for pid in workers:
                os.kill(pid, signum)
        os.kill(proc.pid, signum)
        try:
            proc.wait(timeout=EXIT_GUARD)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the step did not exit {EXIT_GUARD} s after the signal (workers {workers}):\n{report(proc)}")
        if not wait_for(lambda: not session_members(proc.pid), EXIT_GUARD):
            pytest.fail(f"left running (workers {workers}):\n{report(proc)}")
    finally:
        for pid in session_members(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            kill(proc)
    stderr_text = log.read_text()
    assert proc.returncode == code, stderr_text[-2000:]
    assert "Traceback" not in stderr_text, stderr_text
    assert [line for line in stderr_text.replace("\r", "\n").splitlines() if "ERROR" in line] == [f"ERROR: {word}"]
    assert outputs(work / "out") == {}
    assert temporary_files(work) == [], "temporary files left"
