"""A step's outputs: committed as one set (never a mix of two runs), never replacing what the step did not write,
checked by the next step against their manifest."""

import os
import resource
import signal
import subprocess
import time
from pathlib import Path
from typing import Dict, List

import orjson
import pytest

from conftest import ROOT, WIKIEL, leftovers, run_cli
from wikiel.sources.fetch import write_manifest
from wikiel.util import (
    COMMIT_HOLD_ENV,
    FILES_REGISTRY,
    STEP_MANIFEST,
    InputError,
    OutputError,
    atomic_path,
    output_file,
    require_inputs,
    step_output,
    verify_step_output,
)


def temporaries(root: Path) -> List[str]:
    """Leftovers of staging anywhere under `root`."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if ".tmp-" in p.name)


def write_set(out: Path, step: str, files: Dict[str, str]) -> None:
    with step_output(out, step) as staging:
        for name, text in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text(text)


# --- unit: step_output -----------------------------------------------------------------------------------------


def test_step_output_commits_the_whole_set_with_a_manifest(tmp_path):
    out = tmp_path / "out"
    write_set(out, "build-kb", {"a.txt": "one", "sub/b.txt": "two"})
    manifest = orjson.loads((out / STEP_MANIFEST).read_bytes())
    assert manifest["step"] == "build-kb"
    assert sorted(manifest["files"]) == ["a.txt", "sub/b.txt"]
    assert manifest["files"]["a.txt"]["size"] == 3
    verify_step_output(out)
    write_set(out, "build-kb", {"c.txt": "three"})  # a rerun replaces the previous set as a whole
    assert sorted(p.name for p in out.iterdir()) == [STEP_MANIFEST, "c.txt"]
    assert temporaries(tmp_path) == []


def test_failed_step_leaves_the_old_set(tmp_path):
    out = tmp_path / "out"
    write_set(out, "build-kb", {"a.txt": "old"})
    with pytest.raises(OSError):
        with step_output(out, "build-kb") as staging:
            (staging / "a.txt").write_text("new")
            raise OSError(28, "No space left on device")
    assert (out / "a.txt").read_text() == "old"
    verify_step_output(out)
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize(
    "prepare, message",
    [
        (lambda p: p.write_text("a user's file"), "is not a directory"),
        (lambda p: (p.mkdir(), (p / "notes.txt").write_text("mine")), "is not an output of build-kb"),
        (lambda p: write_set(p, "train", {"x": "1"}), "is the output of train"),
        (
            lambda p: (write_set(p, "build-kb", {"x": "1"}), (p / "notes.txt").write_text("mine")),
            "notes.txt is not an output of build-kb",
        ),
    ],
    ids=["file", "foreign-directory", "other-step", "foreign-file-inside"],
)
def test_step_output_never_replaces_what_it_did_not_write(tmp_path, prepare, message):
    out = tmp_path / "out"
    prepare(out)
    before = sorted((str(p), p.read_bytes() if p.is_file() else b"") for p in [out, *out.rglob("*")])
    with pytest.raises(OutputError, match=message):
        write_set(out, "build-kb", {"a.txt": "new"})
    assert sorted((str(p), p.read_bytes() if p.is_file() else b"") for p in [out, *out.rglob("*")]) == before
    assert temporaries(tmp_path) == []


def test_legacy_output_of_the_same_step_is_replaced(tmp_path):
    """Outputs written before step manifests existed are recognised by their stats.json."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "stats.json").write_text('{"step": "build-kb", "counts": {}}')
    write_set(out, "build-kb", {"a.txt": "new"})
    assert (out / "a.txt").read_text() == "new" and not (out / "stats.json").exists()


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda out: (out / "a.txt").write_text("one more"), "a.txt: changed since build-kb wrote it"),
        (lambda out: (out / "a.txt").write_text("ONE"), "its sha256 differs"),
        (lambda out: (out / "sub" / "b.txt").unlink(), "b.txt: is missing from the outputs of build-kb"),
    ],
    ids=["size", "content", "missing"],
)
def test_next_step_refuses_a_changed_set(tmp_path, change, message):
    out = tmp_path / "out"
    write_set(out, "build-kb", {"a.txt": "one", "sub/b.txt": "two"})
    change(out)
    with pytest.raises(InputError, match=message) as err:
        require_inputs({"build-kb:kb": out / "a.txt"})
    assert "rerun the build-kb step" in str(err.value)


def test_atomic_path_never_deletes_a_directory(tmp_path):
    target = tmp_path / "training"
    (target / "nel").mkdir(parents=True)
    (target / "nel" / "model.bin").write_text("weights")
    with pytest.raises(OutputError, match="is a directory"):
        with atomic_path(target) as tmp:
            tmp.write_text("x")
    assert (target / "nel" / "model.bin").read_text() == "weights"


def test_output_file_replaces_only_its_own_unchanged_file(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text("a user's file\n")
    with pytest.raises(OutputError, match="was not written by link"):
        with output_file(path, "link") as f:
            f.write("new\n")
    assert path.read_text() == "a user's file\n"
    path.unlink()
    for text in ("first\n", "second\n"):  # a rerun replaces its own output
        with output_file(path, "link") as f:
            f.write(text)
    assert path.read_text() == "second\n"
    assert "out.jsonl" in orjson.loads((tmp_path / FILES_REGISTRY).read_bytes())
    path.write_text("edited by hand\n")
    with pytest.raises(OutputError, match="changed since"):
        with output_file(path, "link") as f:
            f.write("third\n")
    assert path.read_text() == "edited by hand\n"


def test_link_into_a_directory_is_refused_before_anything_loads(tmp_path):
    """The probe: `spacy project run link . --vars.link_output training` replaced training/ with a 92-byte file."""
    training = tmp_path / "training"
    (training / "nel" / "model-best").mkdir(parents=True)
    (training / "nel" / "model-best" / "meta.json").write_text("{}")
    text = tmp_path / "in.txt"
    text.write_text("Some text.\n")
    result = run_cli("link", tmp_path / "no-such-pipeline", text, training)
    assert result.returncode != 0
    assert f"ERROR: {training} exists and is a directory" in result.stderr
    assert "Traceback" not in result.stderr
    assert (training / "nel" / "model-best" / "meta.json").read_text() == "{}"


# --- whole steps: kills with changed inputs, a filling disk -------------------------------------------------------


@pytest.fixture(scope="module")
def two_worlds(make_world, tmp_path_factory) -> Dict[str, Path]:
    """Manifests of two different worlds: a run on the second replaces the outputs of a run on the first."""
    root = tmp_path_factory.mktemp("two-worlds")
    found = {}
    for name, seed in (("old", 3), ("new", 4)):
        files = make_world(seed=seed)
        write_manifest(
            root / name, "world", "en", None, [files["wikidata"]], files["wikipedia"], files["wikipedia_index"]
        )
        found[name] = root / name / "manifest.json"
    return found


def step_args(step: str, manifest: Path, out: Path, corpus: Path) -> List[str]:
    if step in ("parse-wikidata", "parse-wikipedia"):
        return [*WIKIEL, step, str(out), "--manifest", str(manifest)]
    if step == "build-kb":
        return [*WIKIEL, step, str(corpus / "wikidata"), str(corpus / "wikipedia"), str(out), "--vector-dim", "16"]
    if step == "train":
        config = str(ROOT / "configs" / "nel.cfg")
        return [*WIKIEL, step, config, str(corpus / "m"), str(corpus / "kb"), str(out), "--max-epochs", "1"]
    return [*WIKIEL, step, str(corpus / "wikipedia"), str(corpus / "kb"), str(out)]


STEP_DIRS = {"parse-wikidata": "wikidata", "parse-wikipedia": "wikipedia", "build-kb": "kb", "extract-mentions": "m"}


@pytest.fixture(scope="module")
def corpora(two_worlds, tmp_path_factory) -> Dict[str, Path]:
    """The chain's outputs up to extract-mentions for each world."""
    found = {}
    for name, manifest in two_worlds.items():
        corpus = tmp_path_factory.mktemp(f"corpus-{name}")
        for step, sub in STEP_DIRS.items():
            subprocess.run(
                step_args(step, manifest, corpus / sub, corpus), check=True, capture_output=True, timeout=600
            )
        found[name] = corpus
    return found


def snapshot(out: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def counts(out: Path) -> dict:
    return orjson.loads((out / "stats.json").read_bytes())["counts"]


pytestmark_slow = pytest.mark.slow


@pytestmark_slow
@pytest.mark.parametrize("point", ["staged", "committed"])
@pytest.mark.parametrize("step", ["parse-wikipedia", "build-kb"])  # the others commit through the same code
def test_step_killed_at_commit_leaves_one_whole_set(step, point, corpora, two_worlds, tmp_path):
    """Kill a rerun on changed inputs just before its commit (the old set stays, all of it) or just after (the new
    set is there, all of it); either way the next step's check passes and a rerun cleans up."""
    out = tmp_path / STEP_DIRS[step]
    subprocess.run(
        step_args(step, two_worlds["old"], out, corpora["old"]), check=True, capture_output=True, timeout=600
    )
    old = snapshot(out)
    hold = tmp_path / "hold"
    env = {**os.environ, COMMIT_HOLD_ENV: f"{point}={hold}"}
    proc = subprocess.Popen(
        step_args(step, two_worlds["new"], out, corpora["new"]),
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 600  # a guard: a step that hangs before its commit fails the test
        while not Path(f"{hold}.reached").exists():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, f"{step} did not reach its commit ({point}) within 600 s"
            try:
                proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    verify_step_output(out)  # whole, and consistent with its manifest
    new = orjson.loads((corpora["new"] / STEP_DIRS[step] / "stats.json").read_bytes())["counts"]
    if point == "staged":
        assert snapshot(out) == old
    else:
        assert counts(out) == new
    subprocess.run(
        step_args(step, two_worlds["new"], out, corpora["new"]), check=True, capture_output=True, timeout=600
    )
    assert counts(out) == new
    assert temporaries(tmp_path) == []


def limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit then fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytestmark_slow
@pytest.mark.parametrize("step", [*STEP_DIRS, "train"])
def test_disk_filling_up_mid_step_leaves_the_old_set(step, corpora, two_worlds, tmp_path):
    """A write that fails half-way through the step's largest output (RLIMIT_FSIZE stands in for a full disk, and
    works without root): one error line, the old set untouched, no temporaries."""
    out = tmp_path / STEP_DIRS.get(step, step)
    subprocess.run(
        step_args(step, two_worlds["old"], out, corpora["old"]), check=True, capture_output=True, timeout=600
    )
    old = snapshot(out)
    largest = max(len(v) for v in old.values())
    result = subprocess.run(
        step_args(step, two_worlds["new"], out, corpora["new"]),
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size(largest // 2),
        timeout=600,  # a guard: a hung step fails the test instead of the whole run
    )
    assert result.returncode != 0
    assert "ERROR:" in result.stderr and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert snapshot(out) == old
    assert temporaries(tmp_path) == []


@pytestmark_slow
def test_package_replaces_only_its_own_package(tmp_path):
    import spacy

    model = tmp_path / "model"
    spacy.blank("en").to_disk(model)
    packages = tmp_path / "packages"
    args = ("package", model, packages, "--name", "toy", "--version", "1.0.0")
    assert run_cli(*args).returncode == 0
    package_dir = packages / "en_toy-1.0.0"
    assert (package_dir / "setup.py").is_file() and list((package_dir / "dist").glob("*.tar.gz"))
    again = run_cli(*args)
    assert again.returncode == 1 and "exists: pass --force" in again.stderr
    assert run_cli(*args, "--force").returncode == 0
    assert leftovers(package_dir) == []
    other = packages / "en_toy-2.0.0"
    (other / "mine").mkdir(parents=True)
    refused = run_cli("package", model, packages, "--name", "toy", "--version", "2.0.0", "--force")
    assert refused.returncode == 1 and "is not an output of package" in refused.stderr
    assert (other / "mine").is_dir()
