"""The command line and project.yml agree: every project command runs a `wikiel` sub-command, every option it
passes exists, and where project.yml passes a var the sub-command's default is that var's value (one default)."""

import inspect
import re
import shlex
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import srsly
import typer
from tqdm import tqdm
from typer.testing import CliRunner

from conftest import ROOT, run_cli
from wikiel import cli, defaults
from wikiel.cli import BOUNDS, CURVE_SIZE_BOUND, Bound, app
from wikiel.util import fail

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


# ---- bounds of the numeric options ---------------------------------------------------------------------------------
COMMANDS = {c.name: c.callback for c in app.registered_commands}  # sub-command -> its (bounds-checking) function


def numeric_parameters(func: Any) -> List[str]:
    """The parameters of a command function that take numbers (int, float, optional or lists of them)."""
    hints = typing.get_type_hints(func)
    numeric = []
    for name in inspect.signature(func).parameters:
        hint = hints[name]
        while typing.get_origin(hint) in (typing.Union, list):  # Optional[List[int]] -> int
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            if len(args) != 1:
                break
            hint = args[0]
        if hint in (int, float):
            numeric.append(name)
    return numeric


@pytest.mark.parametrize("sub", sorted(COMMANDS))
def test_every_numeric_option_has_bounds_and_a_default_inside_them(sub):
    func = COMMANDS[sub]
    bounds = BOUNDS.get(func.__name__, {})
    assert set(numeric_parameters(func)) == set(bounds), f"{sub}: numeric options without bounds (or stale bounds)"
    for name, bound in bounds.items():
        default = inspect.signature(func).parameters[name].default.default
        if default is not None:
            assert bound.admits(default), f"{sub} {name}: the default {default} is outside {bound.describe()}"


def project_var_options() -> List[Tuple[str, str, str, Any]]:
    """(sub-command, parameter name, var, option) for every option project.yml sets from a var."""
    out = []
    for _, sub, args in SCRIPTS:
        for option, raw in options_passed(GROUP.commands[sub], args):
            match = VAR_RE.match(raw)
            if match:
                out.append((sub, option.name, match.group(1), option))
    return out


def test_numeric_project_vars_are_bounded_named_and_their_defaults_inside():
    """Each numeric option project.yml sets from a var has a bound naming that var (the error says which var to
    change), and the var's project.yml value satisfies it; no bound names a var project.yml does not pass there."""
    passed = set()
    for sub, name, var, _ in project_var_options():
        bound = BOUNDS.get(COMMANDS[sub].__name__, {}).get(name)
        if name not in numeric_parameters(COMMANDS[sub]):
            continue
        assert bound is not None, f"{sub}: --{name} (vars.{var}) has no bounds"
        assert bound.var == var, f"{sub}: --{name} is set from vars.{var} but its bound names vars.{bound.var}"
        assert bound.admits(VARS[var]), f"vars.{var} = {VARS[var]!r} is outside {bound.describe()}"
        passed.add((sub, name))
    for sub, func in COMMANDS.items():
        for name, bound in BOUNDS.get(func.__name__, {}).items():
            if bound.var:
                assert (sub, name) in passed, f"{sub} --{name}: its bound names vars.{bound.var}, not passed there"


def test_curve_sizes_var_inside_its_bounds():
    sizes = [int(s) for s in str(VARS["curve_sizes"]).split(",")]
    assert sizes and all(CURVE_SIZE_BOUND.admits(n) for n in sizes)
    assert CURVE_SIZE_BOUND.var == "curve_sizes"


def required_arguments(func: Any, root: Path) -> List[str]:
    """A (missing) path for each required argument of a command function."""
    out = []
    for name, param in inspect.signature(func).parameters.items():
        info = param.default
        if type(info).__name__ == "ArgumentInfo" and info.default is ...:
            out.append(str(root / f"missing-{name}"))
    return out


def violations() -> List[Tuple[str, str, Bound, float]]:
    """(sub-command, parameter, bound, a value just outside it) for every bound, below and above."""
    out = []
    for sub, func in sorted(COMMANDS.items()):
        for name, bound in BOUNDS.get(func.__name__, {}).items():
            if bound.low is not None:
                out.append((sub, name, bound, bound.low if bound.low_open else bound.low - 1))
            if bound.high is not None:
                out.append((sub, name, bound, bound.high))
    return out


@pytest.mark.parametrize("sub,name,bound,value", violations(), ids=[f"{v[0]}:{v[1]}={v[3]:g}" for v in violations()])
def test_out_of_range_value_is_one_error_line_before_any_work(sub, name, bound, value, tmp_path):
    """`ERROR: --max-per-alias (vars.max_per_alias) must be >= 1, got 0`, before any input is read (the inputs given
    do not exist, and would be the error otherwise) and before anything is written."""
    func = COMMANDS[sub]
    option = cli.option_name(func, name)
    text = str(int(value)) if float(value).is_integer() else str(value)
    result = CliRunner().invoke(app, [sub, *required_arguments(func, tmp_path), option, text])
    var = f" (vars.{bound.var})" if bound.var else ""
    every = "every value of " if "List[" in str(typing.get_type_hints(func)[name]) else ""
    assert result.exit_code == 1, result.output
    assert result.output == f"ERROR: {every}{option}{var} must be {bound.describe()}, got {text}\n"
    assert list(tmp_path.iterdir()) == [], "the command wrote something before failing"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_out_of_range(value, tmp_path):
    """A zipf exponent of inf passed `>= 0` (and nan every comparison)."""
    result = CliRunner().invoke(app, ["fetch", str(tmp_path / "out"), "--world-zipf", value])
    assert result.exit_code == 1
    assert result.output == f"ERROR: --world-zipf (vars.world_zipf) must be >= 0, got {float(value)}\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "sizes,message",
    [
        ("100,0", "every value of --sizes (vars.curve_sizes) must be > 0, got 0"),
        ("-5", "every value of --sizes (vars.curve_sizes) must be > 0, got -5"),
        (",", "--sizes (vars.curve_sizes) names no number of training mentions: ','"),
        ("1e3", "--sizes (vars.curve_sizes) must be comma-separated whole numbers, not '1e3'"),
    ],
)
def test_curve_sizes_out_of_range(sizes, message, tmp_path):
    func = COMMANDS["learning-curve"]
    result = CliRunner().invoke(app, ["learning-curve", *required_arguments(func, tmp_path), "--sizes", sizes])
    assert result.exit_code == 1 and result.output == f"ERROR: {message}\n", result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "option,value",
    [("--dev-percent", "0"), ("--dev-percent", "99.5"), ("--max-train-articles", "0"), ("--n-process", "0")],
)
def test_values_at_the_bounds_are_accepted(option, value, tmp_path):
    """0 = all (articles, cores) and a dev share just under 100% pass the bounds: the error is the missing dump."""
    result = CliRunner().invoke(
        app, ["parse-wikipedia", str(tmp_path / "out"), "--dump", str(tmp_path / "no.xml"), option, value]
    )
    assert result.exit_code == 1
    assert "must be" not in result.output and "no.xml" in result.output, result.output


def test_error_line_starts_a_line_of_its_own_after_a_progress_bar_left_open(capsys):
    """A signal that stops a step while a bar is created (after its first drawing, before its `with`) leaves the
    bar's line without an end: the ERROR line must still stand alone (test_interrupts once saw
    'pages: 0 pages [...]ERROR: terminated'); a bar cut earlier in its creation must not break fail()."""
    half_built = tqdm.__new__(tqdm)  # cut before __init__ ran: registered, no attributes yet
    bar = tqdm(desc="pages", unit=" pages", file=sys.stderr, mininterval=0)
    bar.refresh()
    with pytest.raises(SystemExit) as exited:
        fail("terminated", 143)
    assert exited.value.code == 143
    lines = capsys.readouterr().err.replace("\r", "\n").splitlines()
    assert [line for line in lines if "ERROR" in line] == ["ERROR: terminated"]
    bar.close()
    del half_built
