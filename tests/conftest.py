"""Shared test helpers: running the spaCy project workflow in a scratch copy of the repository."""

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def run_project_copy(work: Path, overrides: Dict[str, object], workflow: str = "all", timeout: int = 1800) -> Path:
    """Copy project.yml, scripts/ and configs/ into `work` and run `spacy project run <workflow>` with --vars."""
    for name in ("project.yml", "scripts", "configs"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
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
