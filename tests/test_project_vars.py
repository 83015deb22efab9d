"""Var values through weasel (`spacy project run STEP . --vars.x VALUE`).

weasel substitutes the vars into each script line (confection's interpolation), splits the line with shlex and runs
it without a shell. project.yml puts every var in double quotes, so a value with spaces, `'`, `;` or backticks reaches
the step as ONE argument, verbatim, and nothing in it runs. A `'` used to break the single-quoted vars (shlex: "No
closing quotation", a traceback) or glue arguments together; an unquoted value with a space was split in two.
weasel itself cannot take a `$` or a `"` in a value: it stops (a TypeError from its config interpolation) before any
step runs, which is the limit project.yml's header documents; the test checks that nothing runs then either.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import srsly

from conftest import ROOT

PROJECT = srsly.read_yaml(ROOT / "project.yml")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """project.yml in a scratch directory (the steps run here are refused before they need anything else)."""
    work = tmp_path_factory.mktemp("project-vars")
    shutil.copy(ROOT / "project.yml", work / "project.yml")
    for command in PROJECT["commands"]:  # weasel refuses to run a step whose deps are missing
        if command["name"] in ("fetch", "build-kb"):
            for dep in command.get("deps", []):
                (work / dep).parent.mkdir(parents=True, exist_ok=True)
                (work / dep).write_text("{}")
    return work


def project_run(project: Path, step: str, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "spacy", "project", "run", step, str(project), *overrides],
        capture_output=True,
        text=True,
        timeout=300,
    )


def no_pwned_file(project: Path) -> None:
    assert not list(project.rglob("pwned*")), "a var value ran as shell code"
    assert not list(Path.cwd().glob("pwned*"))


def test_every_var_in_a_script_is_double_quoted():
    """Each `${vars.x}` of a script line is a whole argument in double quotes: `--opt "${vars.x}"`."""
    for command in PROJECT["commands"]:
        for line in command["script"]:
            for match in re.finditer(r"\$\{vars\.\w+\}", line):
                before, after = line[match.start() - 2 : match.start()], line[match.end() : match.end() + 2]
                assert before == ' "' and after in ('"', '" '), f"{command['name']}: {match.group()} is not quoted"


# Each value combines several shell constructs (one weasel run costs ~6 s of start-up).
VERBATIM = [
    "it's  a; touch pwned; echo '",
    "`touch pwned` & b | c > out.txt",
    "~/no/such",
]


@pytest.mark.parametrize("value", VERBATIM)
def test_value_reaches_the_step_verbatim(project, value):
    """The value is the path in the step's error line, unchanged, as one argument; no shell ran any of it."""
    proc = project_run(project, "fetch", "--vars.kb", "custom", f"--vars.custom_mentions={value}")
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert errors == [f"ERROR: {value}: does not exist (check the custom_mentions var / the mentions path)"], (
        proc.stderr
    )
    no_pwned_file(project)


@pytest.mark.parametrize("value", ["Bob's  data; touch pwned"])
def test_path_var_with_spaces_reaches_the_step_verbatim(project, value):
    """vars.excerpts_dir was not quoted: a path with a space arrived as two arguments."""
    proc = project_run(project, "fetch", "--vars.source", "excerpts", f"--vars.excerpts_dir={value}")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and errors[0].startswith(f"ERROR: {value}: the excerpts directory is missing"), proc.stderr
    no_pwned_file(project)


@pytest.mark.parametrize("value", ["1; touch pwned", "1 it's"])
def test_numeric_var_with_extra_text_is_one_bad_value(project, value):
    """A numeric var holding other text reaches the step as one (invalid) value: no extra argument, no shell."""
    proc = project_run(project, "build-kb", f"--vars.max_per_alias={value}")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "--max-per-alias" in proc.stdout + proc.stderr and "unexpected extra argument" not in proc.stderr
    no_pwned_file(project)


@pytest.mark.parametrize("value", ["$(touch pwned)", "${touch pwned}", 'say "hi"; touch pwned', "a\tb"])
def test_weasel_refuses_dollar_and_double_quote_before_any_step(project, value):
    """The documented limit: weasel stops before running a step, and nothing in the value runs."""
    proc = project_run(project, "fetch", "--vars.kb", "custom", f"--vars.custom_mentions={value}")
    assert proc.returncode != 0
    assert "Running command" not in proc.stdout, "weasel ran the step"
    no_pwned_file(project)
