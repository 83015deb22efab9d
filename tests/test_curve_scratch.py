"""learning-curve's scratch directory (the subsets and models it trains): `--vars.curve_epochs 0` trained forever and
left a 33 MB temporary directory (`training/curve-XXXX`) that no rerun removed. Now epochs must be >= 1, and the
scratch directory is `.train.tmp-wikiel-PID` inside the step's staging directory (`training/.curve.tmp-wikiel-PID`,
util.step_output): removed on success, error and Ctrl-C, and what a killed run left is removed by the next run."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Span

from wikiel.corpus.docs import write_docs
from wikiel.evaluation import curve
from wikiel.evaluation.curve import learning_curve


@pytest.fixture
def mentions(tmp_path):
    """train.spacy and dev.spacy with one mention each."""
    nlp = spacy.blank("en")
    doc = nlp.make_doc("Paris is a city")
    doc.ents = [Span(doc, 0, 1, label="LOC", kb_id="Q90")]
    for name in ("train", "dev"):
        write_docs([doc], tmp_path / f"{name}.spacy")
    return tmp_path


def scratch_dirs(output_dir: Path):
    return sorted(p.name for p in output_dir.iterdir() if ".tmp-" in p.name) if output_dir.exists() else []


def interrupt_training(monkeypatch, seen):
    """Make the curve's training stop with Ctrl-C, after noting the scratch directory it was given."""

    def interrupted(config, output_dir, *args, **kwargs):
        seen.append(Path(output_dir).parent)
        assert Path(output_dir).parent.is_dir()
        raise KeyboardInterrupt

    monkeypatch.setattr(curve, "train_pipeline", interrupted)


def test_ctrl_c_removes_the_scratch_directory(mentions, tmp_path, monkeypatch):
    out = tmp_path / "training" / "curve"
    seen = []
    interrupt_training(monkeypatch, seen)
    with pytest.raises(KeyboardInterrupt):
        learning_curve(Path("nel.cfg"), mentions / "train.spacy", mentions / "dev.spacy", tmp_path, None, out, [1])
    staging = out.parent / f".curve.tmp-wikiel-{os.getpid()}"
    assert seen == [staging / f".train.tmp-wikiel-{os.getpid()}"], "the scratch lives in the staging directory"
    assert not seen[0].exists() and not staging.exists()
    assert scratch_dirs(out) == [] and scratch_dirs(out.parent) == []


def test_a_killed_run_leaves_a_scratch_directory_the_next_run_removes(mentions, tmp_path, monkeypatch):
    out = tmp_path / "training" / "curve"
    started = tmp_path / "training-started"
    script = textwrap.dedent(
        f"""
        import threading
        from pathlib import Path
        from wikiel.evaluation import curve

        def blocked(config, output_dir, *args, **kwargs):
            Path(output_dir).mkdir()
            (Path(output_dir) / "weights.bin").write_bytes(b"0" * 100_000)
            Path({str(started)!r}).write_text("started")
            threading.Event().wait()  # until killed

        curve.train_pipeline = blocked
        m = Path({str(mentions)!r})
        curve.learning_curve(Path("nel.cfg"), m / "train.spacy", m / "dev.spacy", m, None, Path({str(out)!r}), [1])
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 300
        while not started.exists():  # wait for the file the run writes once it is training
            assert proc.poll() is None, "the run ended before training"
            assert time.monotonic() < deadline, "the run never started training"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert scratch_dirs(out.parent) == [f".curve.tmp-wikiel-{proc.pid}"], "a killed run leaves its staging directory"

    seen = []
    interrupt_training(monkeypatch, seen)
    with pytest.raises(KeyboardInterrupt):
        learning_curve(Path("nel.cfg"), mentions / "train.spacy", mentions / "dev.spacy", tmp_path, None, out, [1])
    assert scratch_dirs(out.parent) == [], "the next run removes the leftover of the killed one (and its own)"


@pytest.mark.parametrize("epochs,sizes", [(0, [1]), (-1, [1]), (1, []), (1, [0, 5])])
def test_epochs_and_sizes_are_checked_before_training(mentions, tmp_path, epochs, sizes):
    """spaCy trains without end at max_epochs 0: the function refuses it (the CLI says so in one line)."""
    out = tmp_path / "curve"
    with pytest.raises(ValueError):
        learning_curve(
            Path("nel.cfg"), mentions / "train.spacy", mentions / "dev.spacy", tmp_path, None, out, sizes, epochs=epochs
        )
    assert not out.exists()
