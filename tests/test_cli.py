"""The command line and project.yml agree: every project command runs a `wikiel` sub-command, every option it
passes exists, and where project.yml passes a var the sub-command's default is that var's value (one default)."""

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import srsly
import typer
from typer.testing import CliRunner

from conftest import ROOT, run_cli
from wikiel import defaults
from wikiel.cli import app

PROJECT = srsly.read_yaml(ROOT / "project.yml")
VARS: Dict[str, Any] = PROJECT["vars"]
GROUP = typer.main.get_command(app)
VAR_RE = re.compile(r"^\$\{vars\.(\w+)\}$")


def wikiel_scripts() -> List[Tuple[str, str, List[str]]]:
    """(project command, wikiel sub-command, its arguments) of every project.yml script line that runs wikiel."""
    out = []
    for command in PROJECT["commands"]:
        for line in command["script"]:
            argv = shlex.split(line)
            if argv[:3] == ["python", "-m", "wikiel"]:
                out.append((command["name"], argv[3], argv[4:]))
    return out


SCRIPTS = wikiel_scripts()


def options_passed(sub: Any, args: List[str]) -> List[Tuple[Any, str]]:
    """(option, the raw value project.yml gives it) for each option in `args`; flags get ''."""
    by_name = {name: p for p in sub.params if p.param_type_name == "option" for name in p.opts}
    out = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("--"):
            assert arg in by_name, f"{sub.name}: project.yml passes {arg}, which the command does not have"
            option = by_name[arg]
            if option.is_flag:
                out.append((option, ""))
            else:
                out.append((option, args[i + 1]))
                i += 1
        i += 1
    return out


def same(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return default == value
    if isinstance(default, (int, float)) or isinstance(value, (int, float)):
        try:
            return float(default) == float(value)
        except (TypeError, ValueError):
            return False
    return str(default) == str(value)


def test_every_project_command_runs_wikiel():
    names = {name for name, _, _ in SCRIPTS}
    assert names == {c["name"] for c in PROJECT["commands"]}, "a project command does not run `python -m wikiel`"
    for project_command, sub, _ in SCRIPTS:
        assert sub == project_command, f"project command {project_command} runs `wikiel {sub}`"
        assert sub in GROUP.commands, sub


@pytest.mark.parametrize("project_command,sub,args", SCRIPTS, ids=[s[0] for s in SCRIPTS])
def test_project_options_exist_and_defaults_agree(project_command, sub, args):
    command = GROUP.commands[sub]
    for option, raw in options_passed(command, args):
        match = VAR_RE.match(raw)
        if not match or option.default is None:
            continue  # a fixed path or a value without a default (e.g. --manifest)
        var = match.group(1)
        assert same(option.default, VARS[var]), (
            f"{project_command}: {option.opts[0]} defaults to {option.default!r} in the CLI but project.yml's "
            f"vars.{var} is {VARS[var]!r}"
        )


def test_vars_with_a_default_constant_agree():
    """project.yml's vars that name a default of wikiel.defaults carry the same value."""
    for var, value in VARS.items():
        constant = getattr(defaults, var.upper(), None)
        if constant is not None:
            assert same(constant, value), f"vars.{var} = {value!r}, wikiel.defaults.{var.upper()} = {constant!r}"


def test_help_lists_every_step():
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for command in PROJECT["commands"]:
        assert command["name"] in result.output


@pytest.mark.parametrize("sub", sorted(GROUP.commands))
def test_every_command_has_help(sub):
    result = CliRunner().invoke(app, [sub, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_module_and_console_script_run():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "parse-wikidata" in proc.stdout, proc.stderr
    script = Path(sys.executable).parent / "wikiel"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "learning-curve" in proc.stdout, proc.stderr


def test_config_holds_no_value_the_code_sets():
    """configs/nel.cfg leaves out what `wikiel train` sets (epochs, evaluation frequency, seed, language)."""
    text = (ROOT / "configs" / "nel.cfg").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    for key in ("max_epochs", "eval_frequency", "pretrained_vectors"):
        assert not re.search(rf"^{key}\s*=", body, re.M), key
    assert not re.search(r"^\[nlp\][^\[]*^lang\s*=", body, re.M | re.S)
    assert not re.search(r"^\[system\][^\[]*^seed\s*=", body, re.M | re.S)


def test_empty_var_skips_the_corpus_evaluation(tmp_path):
    """project.yml passes '' when vars.eval_corpus is empty: with --skip-missing that is a note, not the cwd."""
    proc = run_cli("evaluate-corpus", "no-pipeline", "", tmp_path / "out", "--skip-missing", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in (tmp_path / "out" / "corpus.md").read_text()
    proc = run_cli("evaluate-corpus", "no-pipeline", "", tmp_path / "out2", cwd=tmp_path)
    assert proc.returncode == 1 and "ERROR: no corpus given" in proc.stderr
