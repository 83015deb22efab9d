"""The command line: `wikiel <command>` (or `python -m wikiel <command>`), one command per project.yml command.

Each command parses its options, calls one stage function and prints a one-line summary; every default comes from
`wikiel.defaults`. Errors in the input or output print one line naming the file and exit non-zero. Every numeric
option has a range (`@bounded`), checked before the command reads anything; the error names the project.yml var.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, TypeVar, cast

import spacy
import typer
from spacy.cli.package import package as spacy_package
from tqdm import tqdm

from wikiel import defaults
from wikiel.bench import benchmark as bench
from wikiel.bench.speed import dev_texts, inference_rows, measure_inference
from wikiel.bench.steps import step_table
from wikiel.corpus.docs import read_docs
from wikiel.corpus.mentions import extract_mentions
from wikiel.evaluation import compare as compare_module
from wikiel.evaluation import corpus as corpus_evaluation
from wikiel.evaluation import elevant
from wikiel.evaluation.curve import learning_curve
from wikiel.evaluation.evaluate import evaluate_candidates, evaluate_pipeline, load_pipeline, markdown_table
from wikiel.evaluation.recall import recall_markdown
from wikiel.kb.build import PruneSettings, build_kb
from wikiel.linker.build import build_linker
from wikiel.linker.link import FORMATS, link_file, load_linker
from wikiel.linker.update import update_kb
from wikiel.pipeline import abbreviations, candidates, components
from wikiel.sources import custom, fetch, local
from wikiel.sources.check import check_assets, missing_manifest
from wikiel.sources.wikidata import parse_wikidata
from wikiel.sources.wikipedia import (
    DumpReader,
    Page,
    Settings,
    SiteInfo,
    dump_from_manifest,
    index_from_manifest,
    parse_wikipedia,
)
from wikiel.sources.wikitext import NamespaceInfo, parse_wikitext
from wikiel.synthetic import world as world_module
from wikiel.synthetic.world import generate_world
from wikiel.training.detector import train_detector
from wikiel.training.train import train_pipeline
from wikiel.util import (
    InputError,
    StepStats,
    atomic_open,
    claim_output_file,
    cli_errors,
    fail,
    file_digest,
    open_dump,
    output_file,
    read_json,
    require_inputs,
    require_spacy_lang,
    resolve_processes,
    step_output,
    write_json,
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    help="Wikidata + Wikipedia (or your own knowledge graph) -> a trained spaCy entity linker. "
    "The steps run in this order by `spacy project run all`; each also runs on its own.",
)

F = TypeVar("F", bound=Callable[..., Any])
PIPELINE_MODULES = (candidates, components, abbreviations)  # shipped inside a packaged pipeline (spacy package --code)


def true_or_false(option: str, value: str) -> bool:
    """A boolean option given a value (project.yml passes `--strict-spans ${vars.strict_spans}`)."""
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    fail(f"{option} must be true or false, not {value!r}")


def main() -> None:
    """Entry point of the `wikiel` console script."""
    app()


# ---- bounds of the numeric options -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bound:
    """The valid range of a numeric option: `low <= value` (`low < value` with `low_open`) and `value < high`;
    `var` is the project.yml var that sets the option, named in the error."""

    low: Optional[float] = None
    high: Optional[float] = None
    low_open: bool = False
    var: Optional[str] = None

    def describe(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {number(self.low)}")
        if self.high is not None:
            parts.append(f"< {number(self.high)}")
        return " and ".join(parts)

    def admits(self, value: float) -> bool:
        if not math.isfinite(value):  # nan and inf pass no comparison a range needs
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value < self.high


def number(x: object) -> str:
    """A number as a user would type it: 0, 2.5, 4294967296 (not 0.0 or 4.29497e+09)."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def at_least(low: float, var: Optional[str] = None) -> Bound:
    return Bound(low=low, var=var)


def above(low: float, var: Optional[str] = None) -> Bound:
    return Bound(low=low, low_open=True, var=var)


SEED_BOUND = Bound(low=0, high=2**32)  # numpy's seeds are 0 .. 2**32 - 1
SEED_VAR_BOUND = Bound(low=0, high=2**32, var="seed")
PERCENT_BOUND = Bound(low=0, high=100)  # 100 would leave no train documents
DEV_PERCENT_VAR_BOUND = Bound(low=0, high=100, var="dev_percent")
CURVE_SIZE_BOUND = Bound(low=0, low_open=True, var="curve_sizes")  # each of learning-curve's --sizes
BOUNDS: Dict[str, Dict[str, Bound]] = {}  # command function name -> parameter name -> its bound


def option_name(func: Callable[..., Any], parameter: str) -> str:
    """The command-line spelling of a parameter of a command function (e.g. --n-process, or the name it declares)."""
    default = inspect.signature(func).parameters[parameter].default
    declared = [d for d in getattr(default, "param_decls", None) or () if d.startswith("--")]
    return declared[0] if declared else "--" + parameter.replace("_", "-")


def check_bound(name: str, value: object, bound: Bound) -> None:
    """Fail with one line naming the option (and its var) when `value` (a number or a list of them) is out of range."""
    if value is None:
        return
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if not bound.admits(cast(float, v)):
            var = f" (vars.{bound.var})" if bound.var else ""
            every = "every value of " if isinstance(value, (list, tuple)) else ""
            fail(f"{every}{name}{var} must be {bound.describe()}, got {number(v)}")


def bounded(**bounds: Bound) -> Callable[[F], F]:
    """Check the numeric options of a command against their bounds before the command does anything."""

    def wrap(func: F) -> F:
        BOUNDS[func.__name__] = bounds
        names = {parameter: option_name(func, parameter) for parameter in bounds}
        for parameter, bound in bounds.items():  # the range in --help
            info = inspect.signature(func).parameters[parameter].default
            if hasattr(info, "help"):
                info.help = f"{info.help or ''} [{bound.describe()}]".strip()

        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            for parameter, bound in bounds.items():
                check_bound(names[parameter], kwargs[parameter], bound)
            return func(*args, **kwargs)

        return cast(F, checked)

    return wrap


# ---- sources ---------------------------------------------------------------------------------------------------------
@app.command("fetch")
@bounded(
    world_entities=at_least(1, "world_entities"),
    world_articles=at_least(1, "world_articles"),
    seed=SEED_VAR_BOUND,
    world_zipf=at_least(0, "world_zipf"),
)
def fetch_command(
    output_dir: Path = typer.Argument(..., help="Directory for manifest.json (and dumps/ or world/)"),
    source: str = typer.Option(defaults.SOURCE, help="world (generate, offline), dumps (download) or excerpts"),
    lang: str = typer.Option(defaults.LANG, help="Wikipedia language"),
    dump_date: str = typer.Option(defaults.DUMP_DATE, help="'latest' or a dump date such as 20240101"),
    wikidata_format: str = typer.Option(defaults.WIKIDATA_FORMAT, help="gz or bz2"),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Fetch again even if nothing changed since the last fetch: dump files kept are "
        "checked against the published checksums again (slow on big files)",
    ),
    world_entities: int = typer.Option(defaults.WORLD_ENTITIES, help="Entities of the synthetic world"),
    world_articles: int = typer.Option(defaults.WORLD_ARTICLES, help="Articles of the synthetic world"),
    seed: int = typer.Option(defaults.SEED, help="Seed of the synthetic world"),
    world_zipf: float = typer.Option(
        defaults.WORLD_ZIPF, help="Popularity exponent of the synthetic world (lower = flatter)"
    ),
    world_shape: str = typer.Option(
        defaults.WORLD_SHAPE,
        help="Shape of the synthetic world: small (the default world) or wikipedia (Wikipedia-like ambiguity and "
        "popularity at any size, for the full-size run)",
    ),
    excerpts_dir: Path = typer.Option(Path(defaults.EXCERPTS_DIR), help="Where the real excerpts are"),
    kb: str = typer.Option(
        defaults.KB, help="wikidata (the dumps of --source) or custom (your own knowledge graph: --custom-*)"
    ),
    custom_entities: str = typer.Option(
        defaults.CUSTOM_ENTITIES, help="With --kb custom: entities: JSONL, CTD TSV (MEDIC) or OBO (.gz too)"
    ),
    custom_mentions: str = typer.Option(
        defaults.CUSTOM_MENTIONS, help="With --kb custom: annotated mentions (JSONL, .spacy, PubTator, or a directory)"
    ),
    custom_priors: str = typer.Option("", help="With --kb custom: optional alias priors (TSV or JSONL)"),
    wikidata_dump: str = typer.Option(
        defaults.WIKIDATA_DUMP,
        help="Wikidata dump(s) already on disk, used where they are (comma-separated, in order; .json, .json.gz, "
        ".json.bz2); with --wikipedia-dump, instead of --source",
    ),
    wikipedia_dump: str = typer.Option(
        defaults.WIKIPEDIA_DUMP, help="Wikipedia pages-articles dump already on disk (.xml, .xml.bz2, .xml.gz)"
    ),
    wikipedia_index: str = typer.Option(
        defaults.WIKIPEDIA_INDEX, help="Optional: the multistream index of --wikipedia-dump"
    ),
    dump_site: str = typer.Option(
        defaults.DUMP_SITE, help="--source dumps: base URL of the dumps site or of a mirror with the same layout"
    ),
    redownload: str = typer.Option(
        defaults.REDOWNLOAD,
        "--redownload",
        metavar="true|false",
        help="--source dumps: replace local dump files that differ from the server's (otherwise an error)",
    ),
) -> None:
    """Write a manifest of the input files: generate the synthetic world, point at the excerpts, a custom KB or
    dumps already on disk, or download the real dumps."""
    with cli_errors():
        if kb not in fetch.KBS:
            fail(f"--kb must be one of {', '.join(fetch.KBS)}, not {kb!r}")
        if any(value.strip() for value in (wikidata_dump, wikipedia_dump, wikipedia_index)):
            if kb == "custom":
                fail("--wikidata-dump/--wikipedia-dump (vars.wikidata_dump, vars.wikipedia_dump) go with --kb wikidata")
            files = local.resolve_vars(wikidata_dump, wikipedia_dump, wikipedia_index)
            local_settings = local.settings_of(lang, files)
            manifest = fetch.unchanged(output_dir, local_settings) if not verify else None
            if manifest is None:
                manifest = local.use_local(output_dir, lang, files)
                fetch.record_settings(output_dir, local_settings)
            print(f"{local.summary(manifest)} -> {output_dir / fetch.MANIFEST_FILE}")
            return
        if kb == "custom":
            if not custom_entities.strip() or not custom_mentions.strip():
                fail(
                    "--kb custom needs --custom-entities and --custom-mentions (vars.custom_entities, "
                    "vars.custom_mentions)"
                )
            priors = Path(custom_priors) if custom_priors.strip() else None
            manifest = fetch.use_custom(output_dir, lang, Path(custom_entities), Path(custom_mentions), priors)
            entries = [manifest["entities"], *manifest["mentions"], manifest["priors"]]
            n_bytes = sum(e["bytes"] for e in entries if e)
            print(
                f"custom: {manifest['entities']['path']} and {len(manifest['mentions'])} mention file(s), "
                f"{n_bytes:,} bytes -> {output_dir / fetch.MANIFEST_FILE}"
            )
            return
        if source not in fetch.SOURCES:
            fail(f"--source must be one of {', '.join(fetch.SOURCES)}, not {source!r}")
        if wikidata_format not in fetch.WIKIDATA_FORMATS:
            fail(f"--wikidata-format must be one of {', '.join(fetch.WIKIDATA_FORMATS)}, not {wikidata_format!r}")
        if world_shape not in world_module.SHAPES:
            shapes = ", ".join(world_module.SHAPES)
            fail(f"--world-shape (vars.world_shape) must be one of {shapes}, not {world_shape!r}")
        settings: Dict[str, Any] = {"source": source, "lang": lang}
        if source == "dumps":
            site = fetch.check_site(dump_site)
            settings.update(dump_date=dump_date, wikidata_format=wikidata_format, site=site)
        elif source == "world":
            settings.update(
                entities=world_entities,
                articles=world_articles,
                seed=seed,
                zipf=world_zipf,
                shape=world_shape,
                generator=file_digest(world_module.__file__, "sha1"),
            )
        kept = fetch.unchanged(output_dir, settings) if source != "excerpts" and not verify else None
        if kept is not None:  # the step runs on every `spacy project run` (no_skip): nothing to download or generate
            print(f"{source}: unchanged since the last fetch -> {output_dir / fetch.MANIFEST_FILE}")
            return
        if source == "dumps":
            manifest = fetch.fetch_dumps(
                output_dir,
                lang,
                dump_date,
                wikidata_format,
                progress=True,
                site=site,
                redownload=true_or_false("--redownload", redownload),
            )
        elif source == "excerpts":
            manifest = fetch.use_excerpts(output_dir, lang, excerpts_dir)
        else:
            files = generate_world(
                output_dir / "world",
                world_entities,
                world_articles,
                seed=seed,
                lang=lang,
                zipf=world_zipf,
                shape=world_shape,
            )
            manifest = fetch.use_world(output_dir, lang, files)
        fetch.record_settings(output_dir, settings)
        n_bytes = sum(e["bytes"] for e in manifest["wikidata"]) + manifest["wikipedia"]["bytes"]
        print(
            f"{source}: {len(manifest['wikidata'])} Wikidata file(s), {n_bytes:,} bytes -> "
            f"{output_dir / fetch.MANIFEST_FILE}"
        )


@app.command("check")
def check_command(
    manifest: Path = typer.Argument(..., help="Manifest written by `wikiel fetch` (assets/manifest.json)"),
    lang: Optional[str] = typer.Option(None, help="The workflow's vars.lang: the manifest must be of it"),
    dump_date: Optional[str] = typer.Option(None, help="The workflow's vars.dump_date"),
    wikidata_format: str = typer.Option(defaults.WIKIDATA_FORMAT, help="gz or bz2 (names the files to fetch)"),
) -> None:
    """Check every input of the manifest before the long run: present, complete, right format, wiki and date.
    One line per asset (OK, or the problem and what to do); non-zero exit on any problem."""
    with cli_errors():
        if not manifest.exists():
            raise missing_manifest(manifest, lang or defaults.LANG, dump_date or defaults.DUMP_DATE, wikidata_format)
        results = check_assets(manifest, lang, dump_date)
        for result in results:
            if result.problem is None:
                print(f"OK: {result.key}: {result.path}: {result.summary}")
            else:
                print(f"ERROR: {result.key}: {result.problem}", file=sys.stderr)
        problems = sum(result.problem is not None for result in results)
        if problems:
            fail(f"{problems} problem(s) with the assets of {manifest}: fix them before running the workflow")


@app.command("parse-wikidata")
@bounded(n_process=at_least(0, "n_process"), max_bad_lines=at_least(0))
def parse_wikidata_command(
    output_dir: Path = typer.Argument(..., help="Directory for entities.jsonl, subclass_of.tsv, stats.json"),
    dump: Optional[List[Path]] = typer.Option(None, "--dump", help="Wikidata entity dump (repeatable)"),
    manifest: Optional[Path] = typer.Option(None, help="Manifest written by `wikiel fetch`"),
    lang: str = typer.Option(defaults.LANG, help="Keep items with a <lang>wiki sitelink"),
    n_process: int = typer.Option(defaults.N_PROCESS, help="Processes (main reads, the others parse); 0 = all cores"),
    max_bad_lines: int = typer.Option(defaults.MAX_BAD_LINES, help="Malformed lines to skip before failing"),
    scheduler: str = typer.Option(
        defaults.SCHEDULER,
        help="Dask scheduler address (tcp://host:8786) or scheduler JSON file: parse the pieces on its workers, which "
        "must see the dump at the same path; empty = this machine",
    ),
    alias_scopes: str = typer.Option(
        defaults.ALIAS_SCOPES, help="Custom KB ontologies: the synonym scopes that become aliases (comma-separated)"
    ),
    obo_types: str = typer.Option(
        defaults.OBO_TYPES, help="Custom KB OBO files: entity type from the namespace or the top-level is_a branch"
    ),
) -> None:
    """Stream the Wikidata dump: items with a <lang>wiki sitelink, their label, aliases, description, P31 types.
    Given the manifest of a custom knowledge graph, converts its entity file instead."""
    with cli_errors():
        if bool(dump) == bool(manifest):
            fail("give either --dump PATH (repeatable) or --manifest PATH")
        if manifest is not None and custom.is_custom_manifest(manifest):
            stats = custom.convert_entities(
                custom.inputs_from_manifest(manifest, reads=("entities",)).entities,
                output_dir,
                alias_scopes=alias_scopes,
                obo_types=obo_types,
            )
            print(f"custom KB: {stats['counts']['entities']:,} entities in {stats['seconds']} s -> {output_dir}")
            return
        if dump:
            inputs = list(dump)
        else:
            assert manifest is not None  # exactly one of --dump and --manifest (checked above)
            inputs = fetch.manifest_paths(fetch.read_manifest(manifest), "wikidata")
        stats = parse_wikidata(
            inputs,
            output_dir,
            lang=lang,
            n_process=resolve_processes(n_process),
            max_bad_lines=max_bad_lines,
            scheduler=scheduler,
        )
        counts = stats["counts"]
        print(
            f"{counts['kept']:,} items kept of {counts['entities']:,} entities parsed "
            f"({counts['prefiltered']:,} lines pre-filtered, {counts['bad_lines']:,} bad) "
            f"in {stats['seconds']} s -> {output_dir}"
        )
        if counts["duplicate_entities"]:
            print(
                f"note: {counts['duplicate_entities']:,} entities skipped whose id came earlier in the input (the "
                f"first is kept; first: {', '.join(counts['first_duplicates'][:3])}; see stats.json)"
            )


@app.command("parse-wikipedia")
@bounded(
    dev_percent=DEV_PERCENT_VAR_BOUND,
    max_train_articles=at_least(0, "max_train_articles"),
    max_dev_articles=at_least(0, "max_dev_articles"),
    n_process=at_least(0, "n_process"),
    max_counter_entries=at_least(1),
)
def parse_wikipedia_command(
    output_dir: Path = typer.Argument(..., help="Directory for articles.jsonl, the .tsv counts and stats.json"),
    dump: Optional[Path] = typer.Option(None, help="pages-articles XML dump (plain, .bz2 or .gz)"),
    index: Optional[Path] = typer.Option(
        None, help="With --dump: the multistream index that lets each worker decompress its own part of the dump"
    ),
    manifest: Optional[Path] = typer.Option(None, help="Fetch manifest naming the dump (and its index)"),
    lang: str = typer.Option(defaults.LANG, help="Wiki language code (redirect keywords, link trail, namespaces)"),
    dev_percent: float = typer.Option(defaults.DEV_PERCENT, help="Share of articles put in dev"),
    max_train_articles: int = typer.Option(defaults.MAX_TRAIN_ARTICLES, help="Train articles written (0 = all)"),
    max_dev_articles: int = typer.Option(defaults.MAX_DEV_ARTICLES, help="Dev articles written (0 = all)"),
    n_process: int = typer.Option(defaults.N_PROCESS, help="Worker processes; 0 = all cores"),
    max_counter_entries: int = typer.Option(
        defaults.MAX_COUNTER_ENTRIES, help="Entries of a count or redirect table kept in memory before spilling"
    ),
    scheduler: str = typer.Option(
        defaults.SCHEDULER,
        help="Run the pieces on a Dask cluster: its scheduler's address (tcp://host:8786) or scheduler JSON file; the "
        "workers need this wikiel installed and the dump at the same path (shared filesystem). Empty = this machine",
    ),
    strict: bool = typer.Option(False, help="Custom KB: a span id missing from the entity file is an error"),
    strict_spans: str = typer.Option(
        defaults.STRICT_SPANS,
        "--strict-spans",
        metavar="true|false",
        help="Custom KB: a span whose text is not a plausible surface form of its entity (cut inside a word, no name "
        "or alias of it, e.g. byte or UTF-16 offsets) is an error, not a warning (true/false)",
    ),
) -> None:
    """Stream the Wikipedia XML: redirects, anchor/target link counts, inlink counts, clean text with link spans.
    Given the manifest of a custom knowledge graph, converts its annotated mentions instead."""
    with cli_errors():
        if (dump is None) == (manifest is None):
            raise InputError(dump or manifest or "(none)", "give exactly one of --dump and --manifest")
        if index is not None and manifest is not None:
            raise InputError(index, "--index goes with --dump; the manifest names its own index")
        if manifest is not None and custom.is_custom_manifest(manifest):
            inputs = custom.inputs_from_manifest(manifest)
            stats = custom.convert_mentions(
                inputs.entities,
                inputs.mentions,
                output_dir,
                inputs.priors,
                dev_percent,
                lang=lang,
                strict=strict,
                max_train_articles=max_train_articles,
                max_dev_articles=max_dev_articles,
                strict_spans=true_or_false("--strict-spans", strict_spans),
            )
            counts = stats["counts"]
            print(
                f"custom KB: {counts['articles']:,} documents ({counts['train_articles']:,} train, "
                f"{counts['dev_articles']:,} dev), {counts['links']:,} spans in {stats['seconds']}s -> {output_dir}"
            )
            return
        if manifest is not None:
            path, index = dump_from_manifest(manifest), index_from_manifest(manifest)
        else:
            assert dump is not None
            path = dump
        settings = Settings(
            lang=lang,
            dev_percent=dev_percent,
            max_train_articles=max_train_articles,
            max_dev_articles=max_dev_articles,
            n_process=resolve_processes(n_process),
            max_counter_entries=max_counter_entries,
            scheduler=scheduler,
        )
        stats = parse_wikipedia(path, output_dir, settings, index=index)
        counts = stats["counts"]
        print(
            f"{counts['articles']:,} articles ({counts['train_articles']:,} train, {counts['dev_articles']:,} dev), "
            f"{counts['redirects']:,} redirects, {counts['links']:,} links in {stats['seconds']}s -> {output_dir}"
        )


@app.command("convert-custom-kb")
@bounded(dev_percent=PERCENT_BOUND, seed=SEED_BOUND)
def convert_custom_kb_command(
    entities: Path = typer.Argument(
        ..., help="entities: JSONL {id, name, aliases, description, types, frequency}, CTD TSV or OBO"
    ),
    mentions: Path = typer.Argument(
        ..., help="annotated mentions: JSONL {id, text, spans, split} or .spacy, or a directory of them"
    ),
    output_corpus_dir: Path = typer.Argument(..., help="e.g. corpus: wikidata/ and wikipedia/ are written in it"),
    priors: Optional[Path] = typer.Option(None, help="alias priors: TSV alias<TAB>id<TAB>count, or JSONL"),
    dev_percent: float = typer.Option(defaults.DEV_PERCENT, help="share of unsplit documents in dev"),
    seed: int = typer.Option(defaults.SEED, help="salt of the dev split hash (0: the hash of the document id)"),
    lang: str = typer.Option(defaults.LANG, help="language of the texts"),
    strict: bool = typer.Option(False, help="a span or prior id missing from the entity file is an error"),
    alias_scopes: str = typer.Option(defaults.ALIAS_SCOPES, help="ontology synonym scopes that become aliases"),
    obo_types: str = typer.Option(defaults.OBO_TYPES, help="OBO entity type: namespace or branch"),
    strict_spans: str = typer.Option(
        defaults.STRICT_SPANS,
        "--strict-spans",
        metavar="true|false",
        help="a span whose text is not a plausible surface form of its entity is an error (true/false)",
    ),
) -> None:
    """Your own knowledge graph -> the parse steps' files (wikidata/, wikipedia/), ready for build-kb."""
    with cli_errors():
        stats = custom.convert_custom(
            entities,
            mentions,
            output_corpus_dir,
            priors,
            dev_percent,
            seed,
            lang,
            strict,
            alias_scopes=alias_scopes,
            obo_types=obo_types,
            strict_spans=true_or_false("--strict-spans", strict_spans),
        )
        e, m = stats["wikidata"]["counts"], stats["wikipedia"]["counts"]
        print(
            f"custom KB: {e['entities']:,} entities; {m['articles']:,} documents ({m['train_articles']:,} train, "
            f"{m['dev_articles']:,} dev), {m['links']:,} spans, {m['unknown_id_spans']:,} to unknown ids "
            f"-> {output_corpus_dir}"
        )


# ---- knowledge base, corpus, training -------------------------------------------------------------------------------
@app.command("build-kb")
@bounded(
    min_freq=at_least(1, "min_freq"),
    min_pair=at_least(1, "min_pair"),
    max_per_alias=at_least(1, "max_per_alias"),
    max_entities=at_least(1, "max_entities"),
    max_aliases=at_least(1, "max_aliases"),
    vector_dim=at_least(1, "vector_dim"),
    vector_epochs=at_least(1),
    max_vector_text_mb=at_least(1, "max_vector_text_mb"),
    vector_threads=at_least(1, "vector_threads"),
    seed=SEED_VAR_BOUND,
)
def build_kb_command(
    wikidata_dir: Path = typer.Argument(..., help="parse-wikidata output directory"),
    wikipedia_dir: Path = typer.Argument(..., help="parse-wikipedia output directory"),
    output_dir: Path = typer.Argument(..., help="where kb/, vectors/, entities.jsonl and stats.json go"),
    lang: str = typer.Option(defaults.LANG, help="language of the pipeline"),
    min_freq: int = typer.Option(defaults.MIN_FREQ, help="minimum incoming links of an entity"),
    min_pair: int = typer.Option(defaults.MIN_PAIR, help="minimum count of an anchor-entity pair"),
    max_per_alias: int = typer.Option(defaults.MAX_PER_ALIAS, help="maximum candidates per alias"),
    max_entities: int = typer.Option(defaults.MAX_ENTITIES, help="keep at most this many entities, most linked first"),
    max_aliases: int = typer.Option(defaults.MAX_ALIASES, help="keep at most this many aliases, most frequent first"),
    vectors: str = typer.Option(
        "", help="a spaCy pipeline with vectors (e.g. en_core_web_lg); empty: floret vectors trained on the dump's text"
    ),
    vector_dim: int = typer.Option(defaults.VECTOR_DIM, help="dimension of the floret vectors (entity vector length)"),
    vector_epochs: int = typer.Option(defaults.VECTOR_EPOCHS, help="floret training epochs"),
    max_vector_text_mb: int = typer.Option(
        defaults.MAX_VECTOR_TEXT_MB, help="article text used to train the vectors, in MB (~0.5 MB/s per epoch)"
    ),
    vector_threads: int = typer.Option(defaults.VECTOR_THREADS, help="floret threads; >1 is not deterministic"),
    seed: int = typer.Option(defaults.SEED),
    extra_entities: str = typer.Option(
        "", help="custom entities (JSONL, see wikiel/sources/custom.py) added on top of the pruned KB, never pruned"
    ),
) -> None:
    """Prune entities and aliases, compute priors, train description vectors, write the spaCy KB."""
    with cli_errors():
        require_spacy_lang(lang)
        settings = PruneSettings(min_freq, min_pair, max_per_alias, max_entities, max_aliases)
        stats = build_kb(
            wikidata_dir,
            wikipedia_dir,
            output_dir,
            settings,
            lang=lang,
            vectors=vectors or None,
            vector_dim=vector_dim,
            vector_epochs=vector_epochs,
            max_vector_text_mb=max_vector_text_mb,
            vector_threads=vector_threads,
            seed=seed,
            extra_entities=Path(extra_entities) if extra_entities else None,
        )
        c = stats["counts"]
        print(
            f"KB: {c['entities']} entities, {c['aliases']} aliases, {c['pairs']} pairs, "
            f"{c['kb_bytes'] / 1e6:.1f} MB on disk -> {output_dir}"
        )


@app.command("extract-mentions")
@bounded(max_train=at_least(1, "max_train_mentions"), max_dev=at_least(1, "max_dev_mentions"))
def extract_mentions_command(
    wikipedia_dir: Path = typer.Argument(..., help="parse-wikipedia output directory (articles.jsonl, redirects.tsv)"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory"),
    output_dir: Path = typer.Argument(..., help="where train.spacy, dev.spacy and stats.json go"),
    lang: str = typer.Option(defaults.LANG),
    max_train: int = typer.Option(defaults.MAX_TRAIN_MENTIONS, help="maximum training mentions"),
    max_dev: int = typer.Option(defaults.MAX_DEV_MENTIONS, help="maximum dev mentions"),
) -> None:
    """Gold mentions of KB entities from article links, typed, as train/dev .spacy files."""
    with cli_errors():
        require_spacy_lang(lang)
        stats = extract_mentions(
            wikipedia_dir / "articles.jsonl",
            kb_dir,
            wikipedia_dir,
            output_dir,
            lang=lang,
            max_train=max_train,
            max_dev=max_dev,
        )
        c = stats["counts"]
        print(f"mentions: train {c['train']['mentions']}, dev {c['dev']['mentions']} -> {output_dir}")


def _vectors_or_kb(vectors: str, kb_dir: Path) -> str:
    return vectors or str(kb_dir / "vectors")


@app.command("train")
@bounded(max_epochs=at_least(1, "max_epochs"), seed=SEED_VAR_BOUND)
def train_command(
    config: Path = typer.Argument(..., help="training config (configs/nel.cfg)"),
    mentions_dir: Path = typer.Argument(..., help="extract-mentions output directory"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory"),
    output_dir: Path = typer.Argument(..., help="spaCy output directory (model-best, model-last)"),
    lang: str = typer.Option(defaults.LANG),
    vectors: str = typer.Option("", help="vectors pipeline; empty: the KB's floret vectors"),
    max_epochs: int = typer.Option(defaults.MAX_EPOCHS, help="training epochs"),
    seed: int = typer.Option(defaults.SEED),
) -> None:
    """Train the sentencizer + entity_linker pipeline (spacy train with the config, KB and vectors)."""
    with cli_errors():
        stats = train_pipeline(
            config,
            output_dir,
            mentions_dir / "train.spacy",
            mentions_dir / "dev.spacy",
            kb_dir,
            _vectors_or_kb(vectors, kb_dir),
            lang=lang,
            max_epochs=max_epochs,
            seed=seed,
        )
        print(f"trained in {stats['seconds']:.0f}s -> {output_dir}/model-best")


@app.command("train-detector")
@bounded(max_epochs=at_least(1, "detector_epochs"), max_text_mb=at_least(1), seed=SEED_VAR_BOUND)
def train_detector_command(
    config: Path = typer.Argument(..., help="detector training config (configs/ner.cfg)"),
    wikipedia_dir: Path = typer.Argument(..., help="parse-wikipedia output directory (articles.jsonl)"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory (its vectors)"),
    output_dir: Path = typer.Argument(..., help="spaCy output directory (model-best, model-last)"),
    detector: str = typer.Option(
        defaults.DETECTOR, help="the linker's detector (vars.detector): with alias there is nothing to train"
    ),
    lang: str = typer.Option(defaults.LANG),
    vectors: str = typer.Option("", help="vectors pipeline; empty: the KB's floret vectors"),
    max_epochs: int = typer.Option(defaults.DETECTOR_EPOCHS, help="training epochs"),
    max_text_mb: int = typer.Option(defaults.DETECTOR_TRAIN_TEXT_MB, help="train paragraphs, in MB of text"),
    seed: int = typer.Option(defaults.SEED),
    labels: str = typer.Option(
        defaults.DETECTOR_LABELS, help="typed (each span labelled with its entity's KB type) or single (one label)"
    ),
    untyped: str = typer.Option(
        defaults.DETECTOR_UNTYPED,
        help="spans whose target has no type (not in the KB): generic (one label), missing (unannotated) or omit",
    ),
) -> None:
    """Train a spaCy `ner` mention detector on the annotated spans of the train documents, labelled with their
    entity's coarse type (for build-linker's --detector ner, both or auto; with alias, writes a note and exits)."""
    with cli_errors():
        if detector == "alias":
            note = StepStats("train-detector")
            note["skipped"] = "the linker's detector is alias (vars.detector): no ner to train"
            with step_output(output_dir, "train-detector") as staging:
                note.write(staging / "stats.json")
            print(note["skipped"])
            return
        stats = train_detector(
            config,
            wikipedia_dir,
            kb_dir,
            output_dir,
            _vectors_or_kb(vectors, kb_dir),
            lang=lang,
            max_epochs=max_epochs,
            max_text_mb=max_text_mb,
            seed=seed,
            labels=labels,
            untyped=untyped,
        )
        scores = stats["counts"].get("best_dev_scores", {})
        print(
            f"detector trained in {stats['seconds']:.0f}s: dev P {scores.get('ents_p', 0):.3f} "
            f"R {scores.get('ents_r', 0):.3f} F1 {scores.get('ents_f', 0):.3f} -> {output_dir}/model-best"
        )


# ---- evaluation and the raw-text linker -----------------------------------------------------------------------------
@app.command("evaluate")
@bounded(seed=SEED_VAR_BOUND)
def evaluate_command(
    model: Path = typer.Argument(..., help="trained pipeline (training/nel/model-best)"),
    dev: Path = typer.Argument(..., help="dev mentions (.spacy)"),
    output_dir: Path = typer.Argument(..., help="where evaluation.json/.md and candidates.json/.md go"),
    seed: int = typer.Option(defaults.SEED),
) -> None:
    """Accuracy of the trained linker and the baselines on dev, overall and per type; candidate recall@k of each
    candidate generator."""
    with cli_errors():
        with step_output(output_dir, "evaluate") as staging:
            require_inputs({"train:model": model / "meta.json", "extract-mentions:dev": dev})
            stats = StepStats("evaluate")
            nlp = load_pipeline(model)
            dev_docs = read_docs(dev, spacy.blank(cast(str, nlp.lang)))
            summary = evaluate_pipeline(nlp, dev_docs, seed=seed)
            table = markdown_table(summary)
            recall = evaluate_candidates(nlp, dev_docs)
            recall_table = recall_markdown(recall)
            write_json(staging / "evaluation.json", summary)
            with atomic_open(staging / "evaluation.md") as f:
                f.write(table)
            write_json(staging / "candidates.json", recall)
            with atomic_open(staging / "candidates.md") as f:
                f.write(recall_table)
            stats["mentions"] = summary["mentions"]
            stats.write(staging / "stats.json")
            print(table)
            print(recall_table)


@app.command("compare")
def compare_command(
    runs: List[str] = typer.Argument(
        ..., help="trained linkers as NAME=DIR (a train step's output directory), CORPUS:NAME=DIR with several corpora"
    ),
    corpus: List[str] = typer.Option(
        ..., "--corpus", help="NAME=DIR: an extract-mentions output directory (dev.spacy, stats.json); repeatable"
    ),
    type_model: List[str] = typer.Option(
        [], "--type-model", help="a typed ner scoring ner-predicted types: PATH (every corpus) or CORPUS=PATH"
    ),
    output: Optional[Path] = typer.Option(None, help="where the Markdown table goes (its .json beside it)"),
) -> None:
    """Trained linkers side by side on the dev gold spans of one or more corpora: accuracy untyped, with the prior
    alone (the context ablation), with ner-predicted and gold mention types; train seconds and linking speed."""
    with cli_errors():
        try:
            corpora = {name: Path(path) for name, path in compare_module.parse_named(corpus, "--corpus").items()}
            assigned = compare_module.assign_runs(compare_module.parse_named(runs, "a run"), list(corpora))
            type_models = compare_module.assign_type_models(type_model, list(corpora))
        except ValueError as err:
            fail(str(err))
        require_inputs({f"extract-mentions:{c}": mentions / "dev.spacy" for c, mentions in corpora.items()})
        result = compare_module.compare(corpora, assigned, type_models)
        print(compare_module.write_outputs(result, output))


@app.command("build-linker")
@bounded(max_text_mb=at_least(1, "detector_text_mb"), max_dev_articles=at_least(1, "tune_dev_articles"))
def build_linker_command(
    model: Path = typer.Argument(..., help="trained pipeline (training/nel/model-best)"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory (entities.jsonl)"),
    wikipedia_dir: Path = typer.Argument(..., help="parse-wikipedia output directory (articles.jsonl, redirects.tsv)"),
    output_dir: Path = typer.Argument(..., help="where model/, detection.md and stats.json go"),
    max_text_mb: int = typer.Option(
        defaults.DETECTOR_TEXT_MB, help="train article text to count link probabilities on"
    ),
    max_dev_articles: int = typer.Option(defaults.TUNE_DEV_ARTICLES, help="dev articles to tune thresholds on"),
    detector: str = typer.Option(
        defaults.DETECTOR, help="alias (KB aliases by link probability), ner (train-detector's), both, or auto"
    ),
    detector_model: Optional[Path] = typer.Option(None, help="train-detector's model (training/ner/model-best)"),
    typed_aliases: str = typer.Option(
        defaults.TYPED_ALIASES,
        "--typed-aliases",
        metavar="true|false",
        help="true: alias matches the ner did not find get their alias's KB type (most prior mass); false: ENTITY",
    ),
) -> None:
    """Add mention detection (KB aliases with their link probability) to the trained linker and tune its detection
    and NIL thresholds on dev articles."""
    with cli_errors():
        stats = build_linker(
            model,
            kb_dir,
            wikipedia_dir,
            output_dir,
            max_text_mb=max_text_mb,
            max_dev_articles=max_dev_articles,
            detector=detector,
            detector_model=detector_model if detector != "alias" else None,
            typed_aliases=true_or_false("--typed-aliases", typed_aliases),
        )
        c = stats["counts"]
        det, e2e = c["detection"], c["end_to_end"]
        print(
            f"mention detection ({c['detector']}): threshold {c['detection_threshold']}, P {det['precision']:.3f} "
            f"R {det['recall']:.3f} F1 {det['f1']:.3f}; end to end: NIL threshold {c['nil_threshold']}, "
            f"P {e2e['precision']:.3f} R {e2e['recall']:.3f} F1 {e2e['f1']:.3f} -> {output_dir / 'model'}"
        )


def _write_skip_note(report: Path, stats: StepStats, note: str, **counts: int) -> None:
    """A skipped evaluation's outputs: the note as its report (beside it, stats.json with `counts`), and printed."""
    with atomic_open(report) as f:
        f.write(note + "\n")
    for key, value in counts.items():
        stats[key] = value
    stats.write(report.parent / "stats.json")
    print(note)


@app.command("evaluate-benchmarks")
@bounded(limit_docs=at_least(1))
def evaluate_benchmarks_command(
    pipeline: Path = typer.Argument(..., help="pipeline with an entity_linker (and a mention_detector for e2e)"),
    benchmarks: List[Path] = typer.Argument(..., help="*.benchmark.jsonl files or directories holding them"),
    output_dir: Path = typer.Argument(..., help="where benchmarks.json, benchmarks.md and stats.json go"),
    limit_docs: Optional[int] = typer.Option(None, help="only the first N docs of each"),
    skip_missing: bool = typer.Option(
        False, "--skip-missing", help="when no benchmark path exists, write a note and exit 0"
    ),
) -> None:
    """Score the linker on ELEVANT-format benchmarks: accuracy on gold spans, candidate recall@k, end-to-end
    P/R/F1, with out-of-KB and NIL gold counted apart."""
    with cli_errors():
        with step_output(output_dir, "evaluate-benchmarks") as staging:
            stats = StepStats("evaluate-benchmarks")
            if skip_missing and not any(p.exists() for p in benchmarks):
                note = f"No benchmark files at {', '.join(map(str, benchmarks))}: skipped (set vars.benchmarks_dir)."
                _write_skip_note(staging / "benchmarks.md", stats, note, benchmarks=0)
                return
            data = {
                elevant.benchmark_name(f): elevant.read_benchmark(f, limit=limit_docs)
                for f in elevant.benchmark_files(benchmarks)
            }
            nlp = elevant.load_pipeline(pipeline)
            with tqdm(total=sum(map(len, data.values())), unit="doc", desc="benchmarks") as bar:
                result = elevant.evaluate_benchmarks(nlp, data, progress=bar.update)
            result["pipeline"] = str(pipeline)
            report = elevant.markdown_report(result)
            write_json(staging / "benchmarks.json", result)
            with atomic_open(staging / "benchmarks.md") as f:
                f.write(report)
            total = result["total"]
            stats["benchmarks"] = len(data)
            stats["docs"] = total["docs"]
            stats["gold_labels"] = total["gold"]["labels"]
            stats["gold_in_kb"] = total["gold"]["in_kb"]
            if total["end_to_end"] is not None:
                stats["predictions"] = total["end_to_end"]["predictions"]
            stats.write(staging / "stats.json")
            print(report)


@app.command("package")
def package_command(
    model: Path = typer.Argument(..., help="the built linker (training/linker/model)"),
    output_dir: Path = typer.Argument(..., help="where the package directory and its sdist go (packages)"),
    name: str = typer.Option(defaults.PACKAGE_NAME, help="package name; spaCy prefixes the language: en_<name>"),
    version: str = typer.Option(defaults.PACKAGE_VERSION),
    force: bool = typer.Option(False, "--force", help="overwrite an existing package directory"),
) -> None:
    """Package the linker (mention detection + entity linker + KB) with `spacy package`; the components ship inside
    the package, which installs and loads without this project."""
    with cli_errors():
        require_inputs({"build-linker:model": model / "meta.json"})
        lang = read_json(model / "meta.json").get("lang", defaults.LANG)
        package_dir = output_dir / f"{name if name.startswith(lang + '_') else f'{lang}_{name}'}-{version}"
        if package_dir.exists() and not force:
            fail(f"{package_dir} exists: pass --force to replace it")
        code = [Path(str(m.__file__)) for m in PIPELINE_MODULES]
        # spaCy writes the package into a scratch directory; it replaces an earlier package as a whole, and never
        # a directory this step did not write (step_output)
        with step_output(package_dir, "package") as staging:
            with tempfile.TemporaryDirectory(dir=staging, prefix=".build-") as scratch:
                spacy_package(model, Path(scratch), code_paths=code, name=name, version=version, silent=False)
                for entry in (Path(scratch) / package_dir.name).iterdir():
                    os.replace(entry, staging / entry.name)


@app.command("link")
@bounded(batch_size=at_least(1))
def link_command(
    pipeline: str = typer.Argument(..., help="pipeline directory (training/linker/model) or installed package"),
    input_path: Path = typer.Argument(
        ...,
        help='JSONL with a "text" (and optional "id") per line, a JSON array of such objects, or plain text: one '
        "document per line (recognised by the content)",
    ),
    output_path: Path = typer.Argument(..., help="output JSONL"),
    batch_size: int = typer.Option(defaults.LINK_BATCH_SIZE),
    keep_nil: bool = typer.Option(False, "--keep-nil", help="also write mentions the linker left NIL (qid null)"),
    input_format: str = typer.Option(
        defaults.LINK_FORMAT, "--format", help="auto (from the content), text, jsonl or json (one array)"
    ),
) -> None:
    """Link a text or JSONL file with the built linker: the entities (QID, type, score, offsets) of every document.
    A document the pipeline fails on gets an "error" in its output line; the run goes on and exits 1 at the end."""
    with cli_errors():
        if input_path.resolve() == output_path.resolve():
            fail(f"{output_path}: the output would overwrite the input")
        claim_output_file(output_path, "link")  # before the pipeline loads: never replace what link did not write
        if input_format not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)}, not {input_format!r}")
        counts = link_file(
            load_linker(pipeline),
            input_path,
            output_path,
            batch_size=batch_size,
            keep_nil=keep_nil,
            input_format=input_format,
            pipeline_name=pipeline,
        )
        split = (
            f", {counts['split_documents']} split (over the pipeline's max_length)" if counts["split_documents"] else ""
        )
        print(
            f"{counts['documents']} documents ({counts['format']}), {counts['entities']} entities{split} "
            f"-> {output_path}"
        )
        if counts["failed_documents"]:
            listed = "; ".join(f"{doc_id!r}: {reason}" for doc_id, reason in counts["failed"])
            fail(
                f"{input_path}: {counts['failed_documents']} of {counts['documents']} document(s) failed and have an "
                f'"error" instead of entities in {output_path} ({listed})'
            )


@app.command("update-kb")
def update_kb_command(
    model: Path = typer.Argument(..., help="trained pipeline (training/nel/model-best)"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory with the new KB"),
    output_dir: Path = typer.Argument(..., help="where the updated pipeline goes"),
) -> None:
    """Put a rebuilt KB (same vectors) into a trained linker without retraining."""
    with cli_errors():
        c = update_kb(model, kb_dir, output_dir)["counts"]
        print(
            f"KB {c['before']['entities']:,} -> {c['after']['entities']:,} entities (+{c['entities_added']:,} "
            f"-{c['entities_removed']:,}), {c['before']['aliases']:,} -> {c['after']['aliases']:,} aliases "
            f"-> {output_dir}"
        )


@app.command("learning-curve")
@bounded(epochs=at_least(1, "curve_epochs"), seed=SEED_VAR_BOUND, n_process=at_least(1, "curve_processes"))
def learning_curve_command(
    config: Path = typer.Argument(..., help="training config (configs/nel.cfg)"),
    mentions_dir: Path = typer.Argument(..., help="extract-mentions output directory"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory"),
    output_dir: Path = typer.Argument(..., help="where curve.png, curve.json and curve.md go"),
    lang: str = typer.Option(defaults.LANG),
    vectors: str = typer.Option("", help="vectors pipeline; empty: the KB's floret vectors"),
    sizes: str = typer.Option(defaults.CURVE_SIZES, help="comma-separated numbers of training mentions"),
    epochs: int = typer.Option(defaults.CURVE_EPOCHS, help="training epochs per point"),
    seed: int = typer.Option(defaults.SEED),
    n_process: int = typer.Option(
        defaults.CURVE_PROCESSES, help="points trained at once, each in its own process (~0.5 GB each by default)"
    ),
) -> None:
    """Train on growing numbers of mentions and plot dev accuracy against them."""
    with cli_errors():
        try:
            points = [int(s) for s in sizes.split(",") if s.strip()]
        except ValueError:
            fail(f"--sizes (vars.curve_sizes) must be comma-separated whole numbers, not {sizes!r}")
        if not points:
            fail(f"--sizes (vars.curve_sizes) names no number of training mentions: {sizes!r}")
        check_bound("--sizes", points, CURVE_SIZE_BOUND)
        output_dir.mkdir(parents=True, exist_ok=True)
        learning_curve(
            config,
            mentions_dir / "train.spacy",
            mentions_dir / "dev.spacy",
            kb_dir,
            _vectors_or_kb(vectors, kb_dir),
            output_dir,
            sizes=points,
            lang=lang,
            epochs=epochs,
            seed=seed,
            n_process=n_process,
        )
        print((output_dir / "curve.md").read_text())


# ---- benchmarks ----------------------------------------------------------------------------------------------------
@app.command("benchmark")
@bounded(
    entities=at_least(100),
    articles=at_least(10),
    scale=at_least(2),
    n_process=at_least(0, "n_process"),
    train_mentions=at_least(10),
    seed=SEED_BOUND,
    wikipedia_mb=at_least(0),
    wikidata_mb=at_least(0),
)
def benchmark_command(
    output_md: Path = typer.Argument(..., help="Markdown report to write"),
    entities: int = typer.Option(defaults.BENCH_ENTITIES, help="Entities of the 1x world"),
    articles: int = typer.Option(defaults.BENCH_ARTICLES, help="Articles of the 1x world"),
    scale: int = typer.Option(defaults.BENCH_SCALE, help="Size of the large world, in multiples of the 1x"),
    n_process: int = typer.Option(defaults.N_PROCESS, help="--n-process of the parse stages; 0 = all cores"),
    train_mentions: int = typer.Option(defaults.BENCH_TRAIN_MENTIONS, help="Training subset (1 epoch)"),
    seed: int = typer.Option(defaults.SEED, help="Seed of the worlds and the subset"),
    wikipedia_mb: int = typer.Option(
        defaults.BENCH_WIKIPEDIA_MB,
        help="MB of XML of the realistic Wikipedia dump built from the excerpt's real pages (0 = skip it)",
    ),
    excerpts_dir: Path = typer.Option(Path(defaults.EXCERPTS_DIR), help="Real excerpts (skipped when missing)"),
    wikidata_mb: int = typer.Option(
        defaults.BENCH_WIKIDATA_MB,
        help="JSON MB of the realistic Wikidata dump built from the real excerpts' records (0 = skip it)",
    ),
    workdir: Optional[Path] = typer.Option(
        None, help="Keep worlds, outputs, logs and results.json here (default: a temporary directory)"
    ),
) -> None:
    """Time raw decompression and every stage on 1x and Nx generated worlds and the real excerpts; project the
    hours for the real dumps into a markdown report."""
    settings = bench.Settings(
        entities,
        articles,
        scale,
        resolve_processes(n_process),
        train_mentions,
        seed,
        wikidata_mb=wikidata_mb,
        wikipedia_mb=wikipedia_mb,
    )
    command = shlex.join(["wikiel", "benchmark", *sys.argv[2:]])
    scratch = contextlib.nullcontext(workdir) if workdir else tempfile.TemporaryDirectory(prefix="wikiel-benchmark-")
    with cli_errors(), scratch as work:
        work_dir = Path(work)
        try:
            results = bench.run_benchmark(work_dir, settings, command, excerpts_dir)
        except bench.BenchmarkError as err:
            fail(str(err))
        write_json(work_dir / "results.json", results)
        report = bench.render_markdown(results)
        with output_file(output_md, "benchmark") as f:
            f.write(report)
    print(report)
    print(f"-> {output_md}", file=sys.stderr)


@app.command("step-stats")
def step_stats_command(
    roots: List[Path] = typer.Argument(..., help="directories to search for stats.json (e.g. corpus training)"),
    output: Optional[Path] = typer.Option(None, help="write the table here too"),
) -> None:
    """One markdown table of every step's stats.json (seconds, peak memory, main counts)."""
    with cli_errors():
        table = step_table(roots)
        if output:
            with output_file(output, "step-stats") as f:
                f.write(table)
        print(table)


@app.command("bench-inference")
@bounded(docs=at_least(1))
def bench_inference_command(
    pipeline: str = typer.Argument(..., help="pipeline directory or installed package"),
    articles: Path = typer.Argument(..., help="parse-wikipedia's articles.jsonl (its dev paragraphs are linked)"),
    docs: int = typer.Option(defaults.BENCH_INFERENCE_DOCS, help="dev paragraphs (or articles) to link"),
    whole_articles: bool = typer.Option(False, help="one doc per dev article instead of one per paragraph"),
) -> None:
    """Inference speed of a built linker on dev paragraphs or articles (one process, CPU)."""
    with cli_errors():
        require_inputs({"parse-wikipedia:articles": articles})
        result = measure_inference(load_linker(pipeline), dev_texts(articles, docs, whole_articles))
        print("| what | docs | mentions | docs/s | mentions/s | K chars/s |\n|---|---|---|---|---|---|")
        for row in inference_rows(result):
            print("| " + " | ".join(row) + " |")
        print(json.dumps(result))


def _decompress(path: Path, threads: int = 1) -> Tuple[int, float]:
    """(decompressed bytes, seconds) of reading the whole file in 1 MB chunks."""
    start = time.perf_counter()
    total = 0
    with open_dump(path, threads) as stream:
        while chunk := stream.read(1 << 20):
            total += len(chunk)
    return total, time.perf_counter() - start


@app.command("bench-wikidata")
@bounded(n_process=at_least(0))
def bench_wikidata_command(
    dump: Path = typer.Argument(..., help="Wikidata dump file (plain, gz or bz2)"),
    n_process: Optional[List[int]] = typer.Option(None, help="Process counts to measure (repeatable) [1, 2]"),
    lang: str = typer.Option(defaults.LANG),
) -> None:
    """parse-wikidata on one dump file: decompression MB/s against parse MB/s (each parse in a fresh process, so
    its peak memory is its own)."""
    with cli_errors():
        size, seconds = _decompress(dump)
        raw_rate = size / 1e6 / seconds
        print(f"{dump}: {dump.stat().st_size / 1e6:,.1f} MB on disk, {size / 1e6:,.1f} MB decompressed")
        print(f"decompress      : {raw_rate:8.1f} MB/s ({seconds:.1f} s)")
        for n in n_process or [1, 2]:
            with tempfile.TemporaryDirectory() as out:
                command = [sys.executable, "-m", "wikiel", "parse-wikidata", "--dump", str(dump), out]
                command += ["--lang", lang, "--n-process", str(n)]
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                stats = read_json(Path(out) / "stats.json")
            counts = stats["counts"]
            rate = size / 1e6 / stats["seconds"]
            print(
                f"parse n_process={n}: {rate:8.1f} MB/s ({stats['seconds']:.1f} s) = {rate / raw_rate:.2f} x "
                f"decompression; {counts['kept']:,} kept of {counts['entities']:,} parsed, "
                f"{counts['prefiltered']:,} lines pre-filtered; peak memory {stats['peak_memory_mb']} MB"
            )


@app.command("bench-wikitext")
@bounded(seconds=above(0))
def bench_wikitext_command(
    dump: Path = typer.Argument(
        Path(defaults.EXCERPTS_DIR) / "wikipedia" / fetch.EXCERPT_WIKIPEDIA, help="pages-articles dump"
    ),
    seconds: float = typer.Option(5.0, help="Minimum time to spend on the cleaner benchmark"),
) -> None:
    """Wikitext cleaner throughput (MB of wikitext per CPU second, one core) and the whole parse-wikipedia stage on
    a dump (default: the real enwiki excerpt). CPU time, because wall time swings with the machine's load."""
    with cli_errors():
        require_inputs({"fetch:wikipedia dump": dump})
        with open_dump(dump) as stream:
            items = list(DumpReader(stream, dump))
        namespaces = NamespaceInfo.from_siteinfo(cast(SiteInfo, items[0]).namespaces)  # DumpReader yields it first
        texts = [p.text for p in items if isinstance(p, Page) and p.ns == 0 and p.redirect is None and p.text]
        n_bytes = sum(len(t.encode("utf8")) for t in texts)
        rounds, start, wall = 0, time.process_time(), time.perf_counter()
        while rounds == 0 or time.process_time() - start < seconds:
            for text in texts:
                parse_wikitext(text, namespaces)
            rounds += 1
        cpu, wall = time.process_time() - start, time.perf_counter() - wall
        mb = rounds * n_bytes / 1e6
        print(
            f"cleaner: {len(texts)} articles, {n_bytes / 1e6:.1f} MB x {rounds} rounds: "
            f"{mb / cpu:.1f} MB/s of wikitext per CPU second ({mb / wall:.1f} MB/s wall)"
        )
        with tempfile.TemporaryDirectory() as out:
            start = time.process_time()
            stats = parse_wikipedia(dump, out, Settings(), progress=False)
            cpu = time.process_time() - start
        mb = stats["counts"]["bytes_read"] / 1e6
        print(
            f"stage:   {mb:.1f} MB of XML (decompressed) in {cpu:.2f} CPU s: {mb / cpu:.1f} MB/s "
            f"({stats['seconds']} s wall), including decompression, XML parsing and writing"
        )


# ---- corpus evaluation ---------------------------------------------------------------------------------------------
PUBLISHED_CHOICES = {"auto": None, "always": True, "never": False}


@app.command("evaluate-corpus")
@bounded(limit_docs=at_least(1), batch_size=at_least(1))
def evaluate_corpus_command(
    pipeline: str = typer.Argument(..., help="the built linker (training/linker/model) or an installed package"),
    corpus_arg: str = typer.Argument(
        ...,
        metavar="CORPUS",
        help="annotated documents: PubTator (NCBI-disease) or custom .jsonl/.spacy; empty with --skip-missing: skipped",
    ),
    output_dir: Path = typer.Argument(..., help="where corpus.json, corpus.md and stats.json go"),
    vocabulary: str = typer.Option(
        "", help="MEDIC TSV (or OBO) file: gold ids resolved to primary ids (alternative ids, unprefixed MeSH)"
    ),
    corpus_format: str = typer.Option("auto", "--format", help="auto (by name and content), pubtator or custom"),
    limit_docs: Optional[int] = typer.Option(None, help="only the first N documents"),
    published: str = typer.Option(
        "auto", help="published NCBI-disease figures in the report: auto (for NCBI-disease files), always or never"
    ),
    batch_size: int = typer.Option(defaults.LINK_BATCH_SIZE, help="documents per nlp.pipe batch"),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="when the corpus does not exist, write a note"),
) -> None:
    """Score the linker on an annotated corpus as biomedical papers report: accuracy@1/@5 on gold mentions,
    strict mention-level and document-level end-to-end P/R/F1, per mention class, with and without the
    abbreviation component."""
    with cli_errors():
        with step_output(output_dir, "evaluate-corpus") as staging:
            if corpus_format not in corpus_evaluation.FORMATS:
                fail(f"--format must be one of {', '.join(corpus_evaluation.FORMATS)}, not {corpus_format!r}")
            if published not in PUBLISHED_CHOICES:
                fail(f"--published must be one of {', '.join(PUBLISHED_CHOICES)}, not {published!r}")
            stats = StepStats("evaluate-corpus")
            corpus = Path(corpus_arg)
            if not corpus_arg.strip() and not skip_missing:
                fail("no corpus given (vars.eval_corpus)")
            if skip_missing and (not corpus_arg.strip() or not corpus.exists()):
                where = f"at {corpus}" if corpus_arg.strip() else "given (vars.eval_corpus is empty)"
                _write_skip_note(staging / "corpus.md", stats, f"No corpus {where}: skipped.", docs=0)
                return
            vocab = corpus_evaluation.load_vocabulary(vocabulary) if vocabulary.strip() else None
            docs, id_counts = corpus_evaluation.read_corpus(corpus, corpus_format, vocab, limit_docs)
            nlp = elevant.load_pipeline(pipeline)
            with tqdm(total=len(docs) * corpus_evaluation.passes(nlp), unit="doc", desc="corpus") as bar:
                result = corpus_evaluation.evaluate_corpus(
                    nlp,
                    docs,
                    name=corpus_evaluation.corpus_name(corpus),
                    published=PUBLISHED_CHOICES[published],
                    batch_size=batch_size,
                    progress=bar.update,
                )
            result["pipeline"] = str(pipeline)
            result["corpus_path"] = str(corpus)
            result["gold_ids"] = id_counts
            result["vocabulary"] = None if vocab is None else {"path": vocabulary, "concepts": len(vocab)}
            report = corpus_evaluation.markdown_report(result)
            write_json(staging / "corpus.json", result)
            with atomic_open(staging / "corpus.md") as f:
                f.write(report)
            gold, e2e = result["gold_mentions"], result["end_to_end"]
            stats["docs"] = result["docs"]
            stats["gold_mentions"] = gold["mentions"]
            stats["accuracy@1"] = gold["accuracy@1"]
            stats["accuracy@5"] = gold["accuracy@5"]
            if e2e is not None:
                stats["mention_f1"] = e2e["mention"]["f1"]
                stats["document_f1"] = e2e["document"]["f1"]
            stats.write(staging / "stats.json")
            print(report)
