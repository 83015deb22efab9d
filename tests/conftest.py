"""Shared test helpers: running a `wikiel` command, generated worlds shared by the whole session, and running the
spaCy project workflow in a scratch copy of the repository.

Tests marked `slow` run whole steps or the workflow end to end (`pytest -m "not slow"` runs the fast unit tests).
"""

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import pytest

from wikiel.synthetic.world import generate_world

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
WIKIEL = [sys.executable, "-m", "wikiel"]  # the project's command line, as project.yml runs it


def wikiel_command(*args: object) -> List[str]:
    """The argv of `python -m wikiel ARGS`."""
    return [*WIKIEL, *map(str, args)]


def run_cli(*args: object, cwd: Path = None, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run `python -m wikiel ARGS` and return the finished process (text stdout/stderr captured)."""
    return subprocess.run(wikiel_command(*args), capture_output=True, text=True, cwd=cwd, timeout=timeout, **kwargs)


def leftovers(out: Path) -> List[str]:
    """Temporaries a step left behind: staging copies of `out` beside it (`.out.tmp-wikiel-PID`) and temporary
    files or spill directories inside it. The step manifest (`.wikiel-step.json`) is an output, not a leftover."""
    found = [p.name for p in out.parent.glob(f".{out.name}.*") if ".tmp-" in p.name]
    if out.is_dir():
        found += [str(p.relative_to(out)) for p in out.rglob(".*") if ".tmp-" in p.name or p.name.startswith(".spill")]
    return sorted(found)


@pytest.fixture(scope="session")
def make_world(tmp_path_factory) -> Callable[..., Dict[str, Path]]:
    """`make_world(n_entities, n_articles, seed, lang)`: the files of a generated world, generated once per session
    for each set of arguments. The files are shared: tests copy them before changing anything."""
    cache: Dict[tuple, Dict[str, Path]] = {}

    def make(n_entities: int = 1500, n_articles: int = 300, seed: int = 3, lang: str = "en") -> Dict[str, Path]:
        key = (n_entities, n_articles, seed, lang)
        if key not in cache:
            root = tmp_path_factory.mktemp(f"world-{n_entities}-{n_articles}-{seed}-{lang}")
            cache[key] = generate_world(root, n_entities=n_entities, n_articles=n_articles, seed=seed, lang=lang)
        return dict(cache[key])

    return make


@pytest.fixture(scope="session")
def small_world(make_world) -> Dict[str, Path]:
    """The small world most tests use: 1,500 entities, 300 articles, seed 3."""
    return make_world()


def run_project_copy(work: Path, overrides: Dict[str, object], workflow: str = "all", timeout: int = 1800) -> Path:
    """Copy project.yml, scripts/ and configs/ into `work` and run `spacy project run <workflow>` with --vars."""
    for name in ("project.yml", "scripts", "configs"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, work / name)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "project",
            "run",
            workflow,
            str(work),
            *[f"--vars.{k}={v}" for k, v in overrides.items()],
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        pytest.fail(f"workflow {workflow!r} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return work


@pytest.fixture(scope="session")
def cluster() -> Iterator[str]:
    """The scheduler address of a Dask cluster of 3 worker processes on this machine (one for the whole session:
    each start costs seconds)."""
    distributed = pytest.importorskip("distributed")
    import dask  # noqa: PLC0415 - with distributed only

    with (
        dask.config.set({"distributed.comm.timeouts.connect": "120s"}),  # busy machines are slow to start processes
        distributed.LocalCluster(
            n_workers=3, threads_per_worker=1, processes=True, dashboard_address=None, worker_dashboard_address=None
        ) as local_cluster,
    ):
        yield local_cluster.scheduler_address


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds, a guard against a hang, have passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def process_report(pids: List[int]) -> str:
    """What each process is doing, for a test that fails on a hang: its command line and state, where it waits in
    the kernel (wchan), its signal masks and the Python stacks of its threads (`py-spy dump`, when installed)."""
    lines = []
    for pid in pids:
        proc = Path(f"/proc/{pid}")
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines() if ":" in line)
            wchan = (proc / "wchan").read_text() if (proc / "wchan").exists() else "?"
        except OSError:
            lines.append(f"--- {pid}: gone")
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        masks = " ".join(f"{key}={status.get(key, '?').strip()}" for key in ("SigBlk", "SigIgn", "SigCgt", "ShdPnd"))
        lines.append(f"--- {pid} (parent {fields[1]}, state {fields[0]}, wchan {wchan}, {masks}): {cmdline[:300]}")
        if shutil.which("py-spy"):
            try:
                dump = subprocess.run(["py-spy", "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=60)
                lines.append((dump.stdout + dump.stderr).strip())
            except subprocess.TimeoutExpired:
                lines.append("(py-spy dump timed out)")
    return "\n".join(lines) or "(no process)"
