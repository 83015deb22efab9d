"""The full-scale benchmark: one run that times raw decompression and every stage on generated worlds of 1x and
Nx size (and on the real excerpts when present), then projects the hours for the real dumps.

Every stage runs as a subprocess with the arguments project.yml gives it (vars read from project.yml, only
`n_process` changed). Its stats.json gives the step's own seconds and peak memory (largest single process); a
sampler adds the peak summed RSS of the whole process tree, workers included.
"""

from __future__ import annotations

import bz2
import gzip
import io
import multiprocessing
import os
import platform
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import indexed_bzip2
import isal
import orjson
import rapidgzip
import spacy
import srsly
from isal import igzip

from wikiel import defaults
from wikiel.bench.speed import dev_texts, inference_rows, measure_inference
from wikiel.corpus.docs import count_mentions, read_docs, subset_docs, write_docs
from wikiel.linker.link import load_linker
from wikiel.sources import wikitext
from wikiel.sources.fetch import EXCERPT_WIKIDATA, EXCERPT_WIKIPEDIA, write_manifest
from wikiel.sources.wikidata import KEY_SEARCH, prefilter_keys, scan_lines
from wikiel.synthetic.world import generate_world
from wikiel.util import InputError, compression_of, file_digest, open_dump, read_json

ROOT = Path.cwd()  # the project directory: its project.yml vars and config are measured
CLI = ["-m", "wikiel"]
GIB = 1 << 30
CHUNK = 1 << 20
DECOMPRESS_REPEATS = 3  # raw decompression: best of at least this many passes
DECOMPRESS_SECONDS = 1.0  # and of at least this much time, so small files are not timed on one short pass
SAMPLE_SECONDS = 0.05  # process-tree memory sampling interval
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
TIME = "/usr/bin/time"

# The real inputs the projection is for.
REAL_WIKIDATA_BYTES = 115 * GIB  # latest-all.json.gz
REAL_WIKIDATA_BZ2_BYTES = 76 * GIB  # latest-all.json.bz2, to cross-check the excerpt's ratio
REAL_WIKIPEDIA_BYTES = 22 * GIB  # enwiki-latest-pages-articles-multistream.xml.bz2
REAL_ENTITIES = defaults.MAX_ENTITIES  # the KB's cap
REAL_TRAIN_MENTIONS, REAL_DEV_MENTIONS = defaults.MAX_TRAIN_MENTIONS, defaults.MAX_DEV_MENTIONS  # the caps
GZIP_LEVEL = 6  # to turn the bz2 Wikidata excerpt into a gz file like the real dump

PARSE_TARGETS = {"wikidata": 0.8, "wikipedia": 0.6}  # parse MB/s over raw-decompression MB/s
MEMORY_TARGET = 1.25  # peak memory at Nx over peak memory at 1x
PROJECTION_CORES = (2, 16)
EXCERPT = "excerpt"
INFERENCE_DOCS = defaults.BENCH_INFERENCE_DOCS  # dev paragraphs linked for the inference speed


class BenchmarkError(Exception):
    """A stage failed during the benchmark; the message points at its log."""


@dataclass
class Settings:
    """What to run: the 1x world's size, the large world's multiple, processes and the training subset."""

    entities: int = defaults.BENCH_ENTITIES
    articles: int = defaults.BENCH_ARTICLES
    scale: int = defaults.BENCH_SCALE
    n_process: int = 2
    train_mentions: int = defaults.BENCH_TRAIN_MENTIONS
    seed: int = defaults.SEED
    wikipedia_mb: int = defaults.BENCH_WIKIPEDIA_MB  # XML of the realistic Wikipedia dump; 0 = skip it
    wikidata_mb: int = defaults.BENCH_WIKIDATA_MB  # the realistic Wikidata dump's JSON (0: not built)

    @property
    def labels(self) -> Tuple[str, str]:
        return "1x", f"{self.scale}x"


@dataclass
class DumpFile:
    """A dump file's sizes and its best raw-decompression wall and CPU seconds per decompressor."""

    path: str
    compressed_bytes: int
    decompressed_bytes: int
    decompress_seconds: Dict[str, float]
    decompress_cpu_seconds: Dict[str, float]

    @property
    def ratio(self) -> float:
        return self.decompressed_bytes / self.compressed_bytes

    @property
    def main_decompressor(self) -> str:
        """The first listed: the decoder the parse step uses (for gzip, ISA-L's igzip)."""
        return next(iter(self.decompress_seconds))

    @property
    def fastest(self) -> str:
        """The fastest decompressor measured (wall clock): what parse rates are compared with."""
        return self.rate_order()[0]

    def rate(self, decompressor: str) -> float:
        """Compressed MB per second (wall clock)."""
        return self.compressed_bytes / 1e6 / self.decompress_seconds[decompressor]

    def rate_order(self) -> List[str]:
        """The decompressors, fastest first."""
        return sorted(self.decompress_seconds, key=self.decompress_seconds.__getitem__)

    def cpu_rate(self, decompressor: str) -> float:
        """Decompressed MB per CPU second (all its threads together)."""
        return self.decompressed_bytes / 1e6 / self.decompress_cpu_seconds[decompressor]


@dataclass
class StepRun:
    """One stage subprocess: its stats.json figures, then from /usr/bin/time its wall and CPU seconds (user +
    system of the process and its workers, interpreter start-up included), and the peak summed RSS of its tree."""

    step: str
    seconds: float
    wall_seconds: float
    cpu_seconds: float
    peak_memory_mb: float
    tree_peak_mb: float
    counts: Dict[str, Any]


@dataclass
class RealisticWikidata:
    """The realistic Wikidata dump: its entities' size figures, each file's decompression, parse-wikidata on each."""

    entities: int
    mean_bytes: float
    percentiles: Dict[str, int]  # entity size in bytes: p50, p90, p99, max
    sitelink_share: float
    files: Dict[str, DumpFile] = field(default_factory=dict)  # "gz", "bz2"
    runs: Dict[str, StepRun] = field(default_factory=dict)
    prefilter_seconds: float = 0.0  # parse-wikidata's pre-filter over the decompressed gz file


@dataclass
class Results:
    """Everything one run measured; files and steps are keyed by input: '1x', 'Nx' or 'excerpt'."""

    machine: Dict[str, Any]
    command: str
    settings: Settings
    project_vars: Dict[str, Any]
    files: Dict[str, Dict[str, DumpFile]] = field(default_factory=lambda: {"wikidata": {}, "wikipedia": {}})
    steps: Dict[str, Dict[str, StepRun]] = field(default_factory=dict)
    train_mentions: int = 0  # mentions of the training subset
    dev_mentions: int = 0
    wikidata_excerpt_bz2_bytes: int = 0  # the Wikidata excerpt as shipped (bz2), for the gz/bz2 check
    inference: Dict[str, Dict[str, float]] = field(default_factory=dict)  # wikiel.speed.measure_inference
    realistic_wikipedia: Optional[RealisticWikipedia] = None  # parse-wikipedia on real page text
    wikidata_realistic: Optional[RealisticWikidata] = None  # bench_realistic_wikidata


# --- measuring ------------------------------------------------------------------------------------------


def decompressors(path: Path, n_process: int) -> Dict[str, Callable[[], io.BufferedIOBase]]:
    """Ways to open `path` raw: ISA-L's igzip (what parse-wikidata's gzip decoder uses), then Python's gzip; or
    indexed_bzip2 with n_process threads (what wikiel.util.open_dump uses), then plain bz2."""
    kind = compression_of(path)
    if kind == "gz":
        return {"igzip": lambda: igzip.open(path, "rb"), "gzip": lambda: gzip.open(path, "rb")}
    if kind == "bz2":
        return {
            f"indexed_bzip2 x{n_process}": lambda: indexed_bzip2.open(str(path), parallelization=n_process),
            "bz2": lambda: bz2.open(path, "rb"),
        }
    raise InputError(path, "is neither gzip nor bzip2")


def measure_decompression(
    path: Path, n_process: int, repeats: int = DECOMPRESS_REPEATS, min_seconds: float = DECOMPRESS_SECONDS
) -> DumpFile:
    """Decompress `path` to nothing with each decompressor; keeps the best wall and CPU time of at least
    `repeats` passes taking at least `min_seconds` together."""
    wall: Dict[str, float] = {}
    cpu: Dict[str, float] = {}
    total = 0
    for name, open_stream in decompressors(path, n_process).items():
        wall[name] = cpu[name] = float("inf")
        passes, spent = 0, 0.0
        while passes < repeats or spent < min_seconds:
            start, start_cpu = time.perf_counter(), time.process_time()
            total = 0
            with open_stream() as stream:
                while chunk := stream.read(CHUNK):
                    total += len(chunk)
            elapsed = time.perf_counter() - start
            wall[name] = min(wall[name], round(elapsed, 4))
            cpu[name] = min(cpu[name], round(time.process_time() - start_cpu, 4))
            passes, spent = passes + 1, spent + elapsed
    return DumpFile(str(path), path.stat().st_size, total, wall, cpu)


def tree_rss_mb(pid: int) -> float:
    """Summed RSS of a process and all its descendants, in MB (processes that exit meanwhile count 0)."""
    pages = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                pages += int(f.read().split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(child) for child in f.read().split())
        except OSError:
            continue
    return pages * PAGE_BYTES / (1 << 20)


def run_step(step: str, args: List[Any], out_dir: Path, log_path: Path) -> StepRun:
    """Run `python ARGS`, sampling its process tree's memory; returns its figures."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    times = log_path.with_suffix(".time")
    with open(log_path, "wb") as log:
        # /usr/bin/time forks the step: exec'd straight from this process, the step would inherit this process's
        # RSS high-water mark in its own ru_maxrss, and its stats.json peak would include it.
        command = [TIME, "-f", "%e %U %S", "-o", times, sys.executable, *args]
        proc = subprocess.Popen(list(map(str, command)), stdout=log, stderr=subprocess.STDOUT)
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, tree_rss_mb(proc.pid))
            time.sleep(SAMPLE_SECONDS)
    if proc.returncode:
        tail = log_path.read_text(errors="replace")[-2000:]
        raise BenchmarkError(f"{step} failed (exit {proc.returncode}), log {log_path}:\n{tail}")
    wall, user, system = map(float, times.read_text().split()[-3:])
    stats = read_json(Path(out_dir) / "stats.json")
    run = StepRun(
        step, stats["seconds"], wall, round(user + system, 2), stats["peak_memory_mb"], round(peak, 1), stats["counts"]
    )
    print(
        f"  {step}: {run.seconds:.1f} s ({run.cpu_seconds:.1f} CPU s), peak {run.peak_memory_mb:.0f} MB "
        f"(tree {run.tree_peak_mb:.0f} MB)",
        file=sys.stderr,
        flush=True,
    )
    return run


# --- the run --------------------------------------------------------------------------------------------


def machine_info() -> Dict[str, Any]:
    """CPU model, cores, RAM, OS and versions, and the load average when the run starts."""
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")
    with open("/proc/meminfo") as f:
        mem_kb = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
    return {
        "CPU": cpu,
        "cores (os.cpu_count)": os.cpu_count(),
        "RAM": f"{mem_kb / (1 << 20):.1f} GiB",
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "spaCy": spacy.__version__,
        "indexed_bzip2": indexed_bzip2.__version__,
        "rapidgzip": rapidgzip.__version__,
        "isal (igzip)": isal.__version__,
        "Wikidata pre-filter key search": KEY_SEARCH,
        "wikitext cleaner": "Python passes only (no compiled module, or " + defaults.PURE_PYTHON_ENV + " set)"
        if wikitext.COMPILED is None
        else "compiled passes (wikiel.sources._wikitext)",
        "load average at start": _load(),
    }


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"


def parse_commands(
    corpus: Path, v: Dict[str, Any], n: int, wikidata_src: List[Any], wikipedia_src: List[Any]
) -> List[Tuple[str, List[Any], Path]]:
    """(step, arguments, output dir) of the two parse stages; the sources are ["--manifest", PATH] or
    ["--dump", PATH]."""
    return [
        (
            "parse-wikidata",
            [*CLI, "parse-wikidata", *wikidata_src, corpus / "wikidata", "--lang", v["lang"], "--n-process", n],
            corpus / "wikidata",
        ),
        (
            "parse-wikipedia",
            [
                *CLI,
                "parse-wikipedia",
                *wikipedia_src,
                corpus / "wikipedia",
                "--lang",
                v["lang"],
                "--dev-percent",
                v["dev_percent"],
                "--max-train-articles",
                v["max_train_articles"],
                "--max-dev-articles",
                v["max_dev_articles"],
                "--n-process",
                n,
            ],
            corpus / "wikipedia",
        ),
    ]


def later_commands(corpus: Path, v: Dict[str, Any]) -> List[Tuple[str, List[Any], Path]]:
    """build-kb and extract-mentions with project.yml's arguments."""
    return [
        (
            "build-kb",
            [
                *CLI,
                "build-kb",
                corpus / "wikidata",
                corpus / "wikipedia",
                corpus / "kb",
                "--lang",
                v["lang"],
                "--min-freq",
                v["min_freq"],
                "--min-pair",
                v["min_pair"],
                "--max-per-alias",
                v["max_per_alias"],
                "--max-entities",
                v["max_entities"],
                "--max-aliases",
                v["max_aliases"],
                "--vectors",
                v["vectors"],
                "--vector-dim",
                v["vector_dim"],
                "--max-vector-text-mb",
                v["max_vector_text_mb"],
                "--vector-threads",
                v["vector_threads"],
                "--seed",
                v["seed"],
            ],
            corpus / "kb",
        ),
        (
            "extract-mentions",
            [
                *CLI,
                "extract-mentions",
                corpus / "wikipedia",
                corpus / "kb",
                corpus / "mentions",
                "--lang",
                v["lang"],
                "--max-train",
                v["max_train_mentions"],
                "--max-dev",
                v["max_dev_mentions"],
            ],
            corpus / "mentions",
        ),
    ]


def write_subset(mentions_dir: Path, out_dir: Path, n_train: int, n_dev: int, lang: str, seed: int) -> Tuple[int, int]:
    """train.spacy / dev.spacy with `n_train` / `n_dev` mentions (seeded, as the learning curve draws them)."""
    nlp = spacy.blank(lang)
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = []
    for split, n in (("train", n_train), ("dev", n_dev)):
        docs = subset_docs(read_docs(mentions_dir / f"{split}.spacy", nlp), n, seed=seed)
        write_docs(docs, out_dir / f"{split}.spacy")
        sizes.append(count_mentions(docs))
    return sizes[0], sizes[1]


def bench_world(results: Results, base: Path, label: str, factor: int, train: bool) -> None:
    """Generate one world, measure its dumps' decompression and run the stages on it."""
    s, v = results.settings, results.project_vars
    print(
        f"[{label}] generating {s.entities * factor:,} entities, {s.articles * factor:,} articles",
        file=sys.stderr,
        flush=True,
    )
    paths = generate_world(base / "world", s.entities * factor, s.articles * factor, seed=s.seed, lang=v["lang"])
    write_manifest(base, "world", v["lang"], None, [paths["wikidata"]], paths["wikipedia"], paths["wikipedia_index"])
    for kind in ("wikidata", "wikipedia"):
        results.files[kind][label] = measure_decompression(paths[kind], s.n_process)
    corpus = base / "corpus"
    manifest = ["--manifest", base / "manifest.json"]
    commands = parse_commands(corpus, v, s.n_process, manifest, manifest)
    runs = results.steps.setdefault(label, {})
    for step, args, out in commands + later_commands(corpus, v):
        runs[step] = run_step(step, args, out, base / "logs" / f"{step}.log")
    if train:
        subset = corpus / "train-subset"
        results.train_mentions, results.dev_mentions = write_subset(
            corpus / "mentions", subset, s.train_mentions, max(1, s.train_mentions // 4), v["lang"], s.seed
        )
        args = [
            *CLI,
            "train",
            ROOT / v["config"],
            subset,
            corpus / "kb",
            base / "training" / "nel",
            "--lang",
            v["lang"],
            "--vectors",
            v["vectors"],
            "--max-epochs",
            1,
            "--seed",
            v["seed"],
        ]
        runs["train"] = run_step("train", args, base / "training" / "nel", base / "logs" / "train.log")
        linker = base / "training" / "linker"
        args = [
            *CLI,
            "build-linker",
            base / "training" / "nel" / "model-best",
            corpus / "kb",
            corpus / "wikipedia",
            linker,
            "--max-text-mb",
            v["detector_text_mb"],
            "--max-dev-articles",
            v["tune_dev_articles"],
        ]
        runs["build-linker"] = run_step("build-linker", args, linker, base / "logs" / "build-linker.log")
        results.inference = measure_inference(
            load_linker(linker / "model"), dev_texts(corpus / "wikipedia" / "articles.jsonl", INFERENCE_DOCS)
        )


def bench_excerpts(results: Results, base: Path, excerpts_dir: Path) -> None:
    """Decompression, compression ratio and parse rates of the real excerpts; the Wikidata one re-compressed
    as gz (level GZIP_LEVEL) like the real latest-all.json.gz."""
    print(f"[{EXCERPT}] {excerpts_dir}", file=sys.stderr, flush=True)
    base.mkdir(parents=True, exist_ok=True)
    shipped = excerpts_dir / "wikidata" / EXCERPT_WIKIDATA[0]
    wikidata = base / shipped.name.replace(".bz2", ".gz")
    with bz2.open(shipped) as f:
        wikidata.write_bytes(gzip.compress(f.read(), GZIP_LEVEL, mtime=0))
    results.wikidata_excerpt_bz2_bytes = shipped.stat().st_size
    wikipedia = excerpts_dir / "wikipedia" / EXCERPT_WIKIPEDIA
    n, v = results.settings.n_process, results.project_vars
    results.files["wikidata"][EXCERPT] = measure_decompression(wikidata, n)
    results.files["wikipedia"][EXCERPT] = measure_decompression(wikipedia, n)
    runs = results.steps.setdefault(EXCERPT, {})
    for step, args, out in parse_commands(base / "corpus", v, n, ["--dump", wikidata], ["--dump", wikipedia]):
        runs[step] = run_step(step, args, out, base / "logs" / f"{step}.log")


# --- realistic Wikidata records -------------------------------------------------------------------------------------

REALISTIC_SMALL = ("short_stream.json.bz2", "twenty_entities.json.bz2")  # the body of the size distribution
REALISTIC_LARGE = ("sample_wikidata_items.json.bz2", "Q31.json", "syvb_Q1.json", "syvb_Q42.json")  # its long tail
REALISTIC_LARGE_SHARE = 0.01  # entities drawn from the large records (mean ~100 KB; Belgium is 355 KB)
REALISTIC_SITELINK_SHARE = 0.06  # entities with a <lang>wiki sitelink: ~7M English articles of ~110M entities
REALISTIC_FILES = REALISTIC_SMALL + REALISTIC_LARGE
REAL_DUMP_ENTITIES = 110_000_000  # entities in latest-all.json (over 1 TB of JSON)
REALISTIC_CORES = (2, 16, 64)
ID_MARK, N_MARK = "Q@ID@", "@N@"  # placeholders in a template, replaced by each generated entity's id and number


def _real_entities(path: Path) -> List[Dict[str, Any]]:
    """The entities of a real excerpt: dump layout, newline-delimited, `{"entities": {...}}` or a bare entity."""
    data = bz2.decompress(path.read_bytes()) if path.suffix == ".bz2" else path.read_bytes()
    try:
        units = [orjson.loads(data)]
    except orjson.JSONDecodeError:
        units = [orjson.loads(line.strip().rstrip(b",")) for line in data.splitlines() if len(line.strip()) > 1]
    entities: List[Dict[str, Any]] = []
    for unit in units:
        if isinstance(unit, list):  # the dump layout, parsed whole
            found = unit
        else:
            found = list(unit["entities"].values()) if "entities" in unit else [unit]
        entities.extend(e for e in found if isinstance(e, dict) and "id" in e)
    return entities


def realistic_templates(data_dir: Path, names: Tuple[str, ...], site: str) -> List[Tuple[bytes, bytes]]:
    """Each real entity of `names` serialised twice, without and with a `site` sitelink, its id (and API title)
    replaced by ID_MARK and its English label and sitelink title suffixed by N_MARK."""
    templates = []
    for name in names:
        for entity in _real_entities(data_dir / "wikidata" / name):
            entity["id"] = ID_MARK
            if "title" in entity:
                entity["title"] = ID_MARK
            label = (entity.get("labels") or {}).get("en")
            if isinstance(label, dict):
                label["value"] = f"{label.get('value', '')} {N_MARK}"
            sitelinks: Dict[str, Any] = entity["sitelinks"] if isinstance(entity.get("sitelinks"), dict) else {}
            linked = sitelinks.pop(site, None)
            without = orjson.dumps(entity)
            title = linked["title"] if isinstance(linked, dict) else f"Entity {ID_MARK}"
            entity["sitelinks"] = {**sitelinks, site: {"site": site, "title": f"{title} {N_MARK}", "badges": []}}
            templates.append((without, orjson.dumps(entity)))
    return templates


def write_realistic_wikidata(
    data_dir: Path,
    out_dir: Path,
    target_bytes: int,
    seed: int,
    lang: str = defaults.LANG,
    records: Tuple[Tuple[str, ...], Tuple[str, ...]] = (REALISTIC_SMALL, REALISTIC_LARGE),
) -> Tuple[Dict[str, Path], RealisticWikidata]:
    """A dump-layout Wikidata file of about `target_bytes` JSON, as `.json.gz` (gzip -6) and `.json.bz2` (bzip2 -9),
    made of the real records in `data_dir/wikidata` with distinct ids and labels: most drawn from the small real
    records, REALISTIC_LARGE_SHARE from the large ones; REALISTIC_SITELINK_SHARE of all (the large ones first, as
    real large items are well-known) with a `<lang>wiki` sitelink. `records`: the files of the small and the large
    records."""
    site = f"{lang.replace('-', '_')}wiki"
    small = realistic_templates(data_dir, records[0], site)
    large = realistic_templates(data_dir, records[1], site)
    small_linked = max(0.0, (REALISTIC_SITELINK_SHARE - REALISTIC_LARGE_SHARE) / (1 - REALISTIC_LARGE_SHARE))
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"gz": out_dir / "realistic.json.gz", "bz2": out_dir / "realistic.json.bz2"}
    sizes: List[int] = []
    linked = written = 0
    with gzip.open(paths["gz"], "wb", compresslevel=GZIP_LEVEL) as gz, bz2.open(paths["bz2"], "wb") as bz:
        chunk: List[bytes] = [b"[\n"]
        while written < target_bytes:
            number = len(sizes) + 1
            if rng.random() < REALISTIC_LARGE_SHARE:
                with_link = True
                template = rng.choice(large)[1]
            else:
                with_link = rng.random() < small_linked
                template = rng.choice(small)[with_link]
            line = template.replace(ID_MARK.encode(), f"Q{number}".encode()).replace(N_MARK.encode(), b"%d" % number)
            chunk.append((b",\n" if sizes else b"") + line)
            sizes.append(len(line))
            linked += with_link
            written += len(line) + 2
            if len(chunk) >= 256:
                gz.write(b"".join(chunk))
                bz.write(b"".join(chunk))
                chunk = []
        chunk.append(b"\n]\n")
        gz.write(b"".join(chunk))
        bz.write(b"".join(chunk))
    ordered = sorted(sizes)
    percentiles = {f"p{p}": ordered[min(len(ordered) - 1, len(ordered) * p // 100)] for p in (50, 90, 99)}
    percentiles["max"] = ordered[-1]
    return paths, RealisticWikidata(
        len(sizes), round(sum(sizes) / len(sizes), 1), percentiles, round(linked / len(sizes), 4)
    )


def realistic_decoders(path: Path, threads: int) -> Dict[str, Callable[[], Any]]:
    """The decoders the realistic dump's parse rate is compared with (the fastest of them): gzip by ISA-L's igzip
    (parse-wikidata's decoder), by rapidgzip with `threads` and 1 thread and by Python's gzip; bz2 by indexed_bzip2
    with `threads`."""
    if compression_of(path) == "gz":
        return {
            "igzip": lambda: igzip.open(path, "rb"),
            f"rapidgzip x{threads}": lambda: rapidgzip.open(str(path), parallelization=threads),
            "rapidgzip x1": lambda: rapidgzip.open(str(path), parallelization=1),
            "gzip": lambda: gzip.open(path, "rb"),
        }
    return {f"indexed_bzip2 x{threads}": lambda: indexed_bzip2.open(str(path), parallelization=threads)}


def measure_decoders(path: Path, decoders: Dict[str, Callable[[], Any]], repeats: int) -> DumpFile:
    """Like measure_decompression, for the given decoders and a fixed number of passes (the files are large)."""
    wall: Dict[str, float] = {}
    cpu: Dict[str, float] = {}
    total = 0
    for name, open_stream in decoders.items():
        wall[name] = cpu[name] = float("inf")
        for _ in range(repeats):
            start, start_cpu = time.perf_counter(), time.process_time()
            total = 0
            with open_stream() as stream:
                while chunk := stream.read(CHUNK):
                    total += len(chunk)
            wall[name] = min(wall[name], round(time.perf_counter() - start, 4))
            cpu[name] = min(cpu[name], round(time.process_time() - start_cpu, 4))
    return DumpFile(str(path), path.stat().st_size, total, wall, cpu)


def measure_prefilter(path: Path, lang: str) -> float:
    """Seconds of parse-wikidata's pre-filter (scan_lines, one process) over the decompressed file, decoding apart."""
    keys = prefilter_keys(lang)
    seconds = 0.0
    with open_dump(path) as stream:
        carry = b""
        while block := stream.read(CHUNK):
            data = carry + block
            cut = data.rfind(b"\n") + 1
            start = time.perf_counter()
            scan_lines(data, keys, 0, cut)
            seconds += time.perf_counter() - start
            carry = data[cut:]
    return round(seconds, 4)


def bench_realistic_wikidata(results: Results, base: Path, data_dir: Path) -> None:
    """Build the realistic Wikidata dump (settings.wikidata_mb of JSON) from the real records in `data_dir`, time
    its decoders and the pre-filter, and run parse-wikidata on its gz and bz2 files."""
    s, v = results.settings, results.project_vars
    print(f"[realistic Wikidata] building {s.wikidata_mb} MB of JSON from {data_dir}", file=sys.stderr, flush=True)
    paths, info = write_realistic_wikidata(data_dir, base, s.wikidata_mb * 10**6, s.seed, v["lang"])
    for kind, path in paths.items():
        info.files[kind] = measure_decoders(path, realistic_decoders(path, s.n_process), 2 if kind == "gz" else 1)
        out = base / f"corpus-{kind}"
        args = [*CLI, "parse-wikidata", "--dump", path, out, "--lang", v["lang"], "--n-process", s.n_process]
        info.runs[kind] = run_step("parse-wikidata", args, out, base / "logs" / f"parse-wikidata-{kind}.log")
    info.prefilter_seconds = measure_prefilter(paths["gz"], v["lang"])
    results.wikidata_realistic = info


def realistic_rows(info: RealisticWikidata) -> List[List[Any]]:
    """One row per file: each decoder's rate, parse-wikidata's, and its ratio to the best decoder's."""
    rows = []
    for kind, f in info.files.items():
        run = info.runs[kind]
        best = max(f.decompress_seconds, key=f.rate)
        rate = f.compressed_bytes / 1e6 / run.seconds
        ratio = rate / f.rate(best)
        rows.append(
            [
                f"`{Path(f.path).name}`",
                f"{f.compressed_bytes / 1e6:.1f}",
                f"{f.decompressed_bytes / 1e6:.1f}",
                ", ".join(
                    f"{name} {f.decompressed_bytes / 1e6 / f.decompress_seconds[name]:.0f}" for name in f.rate_order()
                ),
                f"{run.seconds:.2f}",
                f"{rate * f.ratio:.0f}",
                f"{ratio:.2f} of {best}",
                f">= {PARSE_TARGETS['wikidata']}",
                _mark(ratio >= PARSE_TARGETS["wikidata"]),
            ]
        )
    return rows


def realistic_projection(
    info: RealisticWikidata, cores: int, n_process: int, driver_cores: int = 16
) -> Tuple[float, str]:
    """Hours to parse the real dump's JSON (REAL_DUMP_ENTITIES x the mean entity size) from its gz file on `cores`
    cores: min(the run's MB per core second (its own seconds x n_process: start-up excluded, every core busy) x
    cores, the pre-filter on one core, igzip's MB per CPU second: the step decodes gzip on one thread, whatever the
    cores); beyond `driver_cores` the pieces go to a Dask cluster and the driver, one machine, decodes and
    pre-filters."""
    f, run = info.files["gz"], info.runs["gz"]
    real_mb = REAL_DUMP_ENTITIES * info.mean_bytes / 1e6
    terms = {
        "parse": f.decompressed_bytes / 1e6 / (run.seconds * n_process) * cores,
        "pre-filter": f.decompressed_bytes / 1e6 / info.prefilter_seconds,
        "decoding": f.cpu_rate("igzip"),
    }
    binding = min(terms, key=lambda term: terms[term])
    return real_mb / terms[binding] / 3600, binding


def realistic_parts(r: Results) -> List[str]:
    """The report's section on the realistic Wikidata dump (empty when it was not built)."""
    info = r.wikidata_realistic
    if info is None:
        return []
    sizes = ", ".join(f"{k} {v / 1e3:,.1f} KB" for k, v in info.percentiles.items())
    real_tb = REAL_DUMP_ENTITIES * info.mean_bytes / 1e12
    n = r.settings.n_process
    cells = [f"{h:.2f} ({term})" for h, term in (realistic_projection(info, c, n) for c in REALISTIC_CORES)]
    return [
        "## parse-wikidata on realistic records",
        f"A dump-layout file of {info.entities:,} entities made from the real records of the excerpts (ids and labels "
        f"varied): entity sizes mean {info.mean_bytes / 1e3:.1f} KB, {sizes}; {info.sitelink_share:.1%} with an "
        f"`{r.project_vars.get('lang', defaults.LANG)}wiki` sitelink ({REALISTIC_LARGE_SHARE:.0%} drawn from the "
        f"large records, all linked), as gzip -{GZIP_LEVEL} and bzip2 -9. Decoder rates are MB/s of decompressed "
        "JSON (best of the passes, one pass for bz2); parse-wikidata runs once with "
        f"`--n-process {r.settings.n_process}`, its seconds "
        "its own (`stats.json`); the ratio compares compressed MB/s with the fastest decoder's.",
        _table(
            [
                "file",
                "compressed MB",
                "decompressed MB",
                "decoders MB/s",
                "parse s",
                "parse MB/s",
                "parse / decoder",
                "target",
                "",
            ],
            realistic_rows(info),
        ),
        f"The pre-filter alone (`scan_lines` over the decompressed gz file, one process, key search by "
        f"{KEY_SEARCH}): "
        f"{info.files['gz'].decompressed_bytes / 1e6 / info.prefilter_seconds:,.0f} MB/s.",
        f"Projection to the real dump (~{REAL_DUMP_ENTITIES / 1e6:.0f}M entities x {info.mean_bytes / 1e3:.1f} KB = "
        f"{real_tb:.2f} TB of JSON, from `latest-all.json.gz`), hours:",
        _table([f"{c} cores h" for c in REALISTIC_CORES], [cells]),
        "Model: min(parse-wikidata's decompressed MB per core second (its seconds x n_process, interpreter start-up "
        "excluded, every core taken as busy) x cores, the pre-filter's rate on one core, igzip's MB per CPU "
        "second: the step decodes gzip with ISA-L on one thread, whatever the cores). Up to 16 cores are one "
        "machine; 64 cores are a Dask cluster "
        "(`--scheduler`) whose workers parse while the driver, one 16-core machine, decodes and pre-filters, "
        "so the driver's pre-filter and decoding bound it.",
    ]


def run_benchmark(workdir: Path, settings: Settings, command: str, excerpts_dir: Optional[Path]) -> Results:
    """The whole benchmark in `workdir`: both worlds, then the real excerpts if `excerpts_dir` has them."""
    results = Results(machine_info(), command, settings, srsly.read_yaml(ROOT / "project.yml")["vars"])
    small, large = settings.labels
    bench_world(results, workdir / small, small, 1, train=False)
    bench_world(results, workdir / large, large, settings.scale, train=True)
    if excerpts_dir and all(
        (excerpts_dir / sub / name).is_file()
        for sub, name in (("wikidata", EXCERPT_WIKIDATA[0]), ("wikipedia", EXCERPT_WIKIPEDIA))
    ):
        bench_excerpts(results, workdir / EXCERPT, excerpts_dir)
        if settings.wikipedia_mb > 0:
            results.realistic_wikipedia = measure_realistic_wikipedia(
                workdir / "realistic-wikipedia",
                excerpts_dir / "wikipedia" / EXCERPT_WIKIPEDIA,
                settings.wikipedia_mb * 10**6,
                settings.n_process,
            )
    if (
        excerpts_dir
        and settings.wikidata_mb
        and all((excerpts_dir / "wikidata" / n).is_file() for n in REALISTIC_FILES)
    ):
        bench_realistic_wikidata(results, workdir / "realistic-wikidata", excerpts_dir)
    results.machine["load average at end"] = _load()
    return results


# --- projecting -----------------------------------------------------------------------------------------


def projection(decompressed_mb: float, rate_per_core: float, cores: int, decompress_limit: float) -> Tuple[float, str]:
    """Hours to parse `decompressed_mb` at min(rate_per_core x cores, decompress_limit) MB/s (all in
    decompressed MB), and the term that binds."""
    parse_rate = rate_per_core * cores
    hours = decompressed_mb / min(parse_rate, decompress_limit) / 3600
    return hours, "parse" if parse_rate <= decompress_limit else "decompression"


@dataclass
class Projection:
    step: str
    real_input: str
    model: str
    hours: Dict[int, Tuple[float, str]]  # cores -> (hours, binding term)


def reference(r: Results, kind: str) -> DumpFile:
    """The file whose compression ratio and decompression speed stand for the real dump: the real excerpt,
    or the Nx world's file without one."""
    return r.files[kind].get(EXCERPT) or r.files[kind][r.settings.labels[1]]


def projections(r: Results) -> List[Projection]:
    """Each step's hours on the real inputs at PROJECTION_CORES cores, from the Nx world's run."""
    large = r.settings.labels[1]
    runs = r.steps[large]
    out = []
    for kind in ("wikidata", "wikipedia"):
        ref, world, run = reference(r, kind), r.files[kind][large], runs[f"parse-{kind}"]
        per_cpu_second = world.decompressed_bytes / 1e6 / run.cpu_seconds
        limit = ref.cpu_rate(ref.main_decompressor)
        if kind == "wikidata":  # gzip inflates on one thread whatever the cores
            limits = {cores: limit for cores in PROJECTION_CORES}
            decompression = f"{ref.main_decompressor} {limit:.0f} MB/s on one core"
        else:  # bz2 decompression is assumed to scale linearly with cores (threads or workers)
            limits = {cores: limit * cores for cores in PROJECTION_CORES}
            decompression = f"indexed_bzip2 {limit:.1f} MB per CPU second x cores"
        real = REAL_WIKIDATA_BYTES if kind == "wikidata" else REAL_WIKIPEDIA_BYTES
        real_mb = real * ref.ratio / 1e6
        out.append(
            Projection(
                f"parse-{kind}",
                f"{real / GIB:.0f} GiB x ratio {ref.ratio:.2f} = {real_mb / 1e3:,.0f} GB",
                f"GB / min({per_cpu_second:.2f} MB per CPU second x cores, {decompression})",
                {cores: projection(real_mb, per_cpu_second, cores, limits[cores]) for cores in PROJECTION_CORES},
            )
        )

    kb, mentions, train = runs["build-kb"], runs["extract-mentions"], runs["train"]
    text_mb = kb.counts["vectors"]["vector_text_bytes"] / 1e6
    real_text_mb, threads = r.project_vars["max_vector_text_mb"], r.project_vars["vector_threads"]
    per_entity_hours = kb.cpu_seconds * REAL_ENTITIES / kb.counts["entities"] / 3600
    n_mentions = mentions.counts["train"]["mentions"] + mentions.counts["dev"]["mentions"]
    real_mentions = REAL_TRAIN_MENTIONS + REAL_DEV_MENTIONS
    epochs = r.project_vars["max_epochs"]
    train_per_k = train.cpu_seconds / r.train_mentions * 1e3
    out.append(
        Projection(
            "build-kb",
            f"{real_text_mb} MB of floret text (the cap), {REAL_ENTITIES:,} entities",
            f"{kb.cpu_seconds / text_mb:.1f} CPU s per MB of vector text / min(floret threads = {threads}, cores) (all "
            f"of it per KB entity instead: {per_entity_hours:.1f} CPU h)",
            {
                c: (kb.cpu_seconds * real_text_mb / text_mb / min(threads, c) / 3600, _threads(min(threads, c)))
                for c in PROJECTION_CORES
            },
        )
    )
    single = [
        (
            mentions,
            f"{real_mentions:,} mentions",
            f"{mentions.cpu_seconds / n_mentions * 1e3:.2f} CPU s per 1K mentions; one process",
            mentions.cpu_seconds * real_mentions / n_mentions,
        ),
        (
            train,
            f"{REAL_TRAIN_MENTIONS:,} mentions x {epochs} epochs",
            f"{train_per_k:.2f} CPU s per 1K mentions per epoch; one process",
            train_per_k * REAL_TRAIN_MENTIONS / 1e3 * epochs,
        ),
    ]
    for run, real_input, model, seconds in single:
        out.append(Projection(run.step, real_input, model, {c: (seconds / 3600, "one core") for c in PROJECTION_CORES}))
    return out


# --- the report -----------------------------------------------------------------------------------------


def _table(headers: List[str], rows: List[List[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def _threads(n: int) -> str:
    return f"{n} thread" + ("s" if n > 1 else "")


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def parse_rows(r: Results) -> List[List[Any]]:
    """One row per parse step and input: throughput against raw decompression of the same file."""
    rows = []
    for kind, unit in (("wikidata", "entities"), ("wikipedia", "pages")):
        for label, f in r.files[kind].items():
            run = r.steps[label][f"parse-{kind}"]
            rate = f.compressed_bytes / 1e6 / run.seconds
            ratio = rate / f.rate(f.fastest)
            raw = ", ".join(f"{name} {f.rate(name):.1f}" for name in f.decompress_seconds)
            target = PARSE_TARGETS[kind]
            rows.append(
                [
                    f"parse-{kind}",
                    label,
                    f"{f.compressed_bytes / 1e6:.1f}",
                    f"{f.decompressed_bytes / 1e6:.1f}",
                    f"{f.ratio:.2f}",
                    f"{run.seconds:.2f}",
                    f"{run.cpu_seconds:.2f}",
                    f"{rate:.2f}",
                    f"{rate * f.ratio:.1f}",
                    f"{run.counts[unit] / run.seconds:,.0f} {unit}/s",
                    raw,
                    f"{ratio:.2f}",
                    f">= {target}",
                    _mark(ratio >= target),
                ]
            )
    return rows


def memory_rows(r: Results) -> List[List[Any]]:
    """Peak memory at 1x and Nx and their ratio, judged against the target for the parse steps."""
    small, large = r.settings.labels
    rows = []
    for step in ("parse-wikidata", "parse-wikipedia", "build-kb", "extract-mentions"):
        a, b = r.steps[small][step], r.steps[large][step]
        ratio, tree_ratio = b.peak_memory_mb / a.peak_memory_mb, b.tree_peak_mb / a.tree_peak_mb
        target = mark = "-"
        if step.startswith("parse-"):
            target, mark = f"<= {MEMORY_TARGET}", _mark(max(ratio, tree_ratio) <= MEMORY_TARGET)
        rows.append(
            [
                step,
                f"{a.peak_memory_mb:.0f}",
                f"{b.peak_memory_mb:.0f}",
                f"{ratio:.2f}",
                f"{a.tree_peak_mb:.0f}",
                f"{b.tree_peak_mb:.0f}",
                f"{tree_ratio:.2f}",
                target,
                mark,
            ]
        )
    return rows


def later_rows(r: Results) -> List[List[Any]]:
    """build-kb, extract-mentions (both worlds) and train (Nx subset): seconds, memory, seconds per 1K mentions."""
    rows = []
    for label in r.settings.labels:
        runs = r.steps[label]
        counts = runs["extract-mentions"].counts
        extracted = counts["train"]["mentions"] + counts["dev"]["mentions"]
        for step in ("build-kb", "extract-mentions", "train"):
            if step not in runs:
                continue
            run = runs[step]
            mentions = r.train_mentions if step == "train" else extracted
            what = (
                f"{mentions:,} train (1 epoch, {r.dev_mentions:,} dev)"
                if step == "train"
                else f"{mentions:,} extracted"
            )
            rows.append(
                [
                    step,
                    label,
                    f"{run.seconds:.1f}",
                    f"{run.wall_seconds:.1f}",
                    f"{run.cpu_seconds:.1f}",
                    f"{run.peak_memory_mb:.0f}",
                    f"{run.tree_peak_mb:.0f}",
                    what,
                    f"{run.seconds / mentions * 1e3:.2f}",
                ]
            )
    return rows


def projection_rows(items: List[Projection]) -> List[List[Any]]:
    rows = []
    for p in items:
        cells = [f"{p.hours[c][0]:.2f} ({p.hours[c][1]})" for c in PROJECTION_CORES]
        rows.append([p.step, p.real_input, p.model, *cells])
    totals = [f"**{sum(p.hours[c][0] for p in items):.1f}**" for c in PROJECTION_CORES]
    return rows + [["**total**", "", "steps run one after another", *totals]]


def render_markdown(r: Results) -> str:
    """The report: machine, command, parse throughput, memory, later steps, projection and its assumptions."""
    s, (small, large) = r.settings, r.settings.labels
    items = projections(r)
    wd, wp = reference(r, "wikidata"), reference(r, "wikipedia")
    synthetic = {kind: r.files[kind][large].ratio for kind in ("wikidata", "wikipedia")}
    has_excerpts = EXCERPT in r.files["wikidata"]
    source = "the real excerpts" if has_excerpts else f"the {large} world (no real excerpts were found)"
    per_process = {
        label: {
            kind: r.files[kind][label].decompressed_bytes / 1e6 / r.steps[label][f"parse-{kind}"].seconds / s.n_process
            for kind in ("wikidata", "wikipedia")
        }
        for label in r.files["wikidata"]
    }
    gz_over_bz2 = f"{wd.compressed_bytes / r.wikidata_excerpt_bz2_bytes:.2f}" if has_excerpts else "unknown"
    content = (
        ", ".join(
            f"{kind} {per_process[EXCERPT][kind]:.2f} vs {per_process[large][kind]:.2f}"
            for kind in ("wikidata", "wikipedia")
        )
        if has_excerpts
        else "not measured"
    )
    parts = [
        "# Benchmark: throughput, memory and a projection to the full dumps",
        "Generated by `wikiel benchmark` (logic in `scripts/wikiel/bench/benchmark.py`): two synthetic worlds "
        f"(`wikiel.world`) at 1x and {s.scale}x size, every stage run as a subprocess with the arguments project.yml "
        f"gives it and `--n-process {s.n_process}`, on the same files whose raw decompression is timed.",
        "## Machine",
        _table(["", ""], [[k, v] for k, v in r.machine.items()]),
        "Other work may share the CPU during the run (see the load averages): rates are what this run got, "
        "not what an idle machine gives.",
        "## Command",
        f"```\n{r.command}\n```",
        f"Worlds: {small} = {s.entities:,} entities and {s.articles:,} articles; {large} = {s.entities * s.scale:,} "
        f"entities and {s.articles * s.scale:,} articles (seed {s.seed}). Training subset: {r.train_mentions:,} "
        f"train and {r.dev_mentions:,} dev mentions."
        + (
            f" Real excerpts: `{Path(wd.path).name}` (the Wikidata excerpt re-compressed with gzip -{GZIP_LEVEL}) "
            f"and `{Path(wp.path).name}`."
            if has_excerpts
            else ""
        ),
        "## Parsing against raw decompression",
        "MB are 10^6 bytes; seconds are the step's own (`stats.json`, interpreter start-up excluded). Raw "
        f"decompression is the best of at least {DECOMPRESS_REPEATS} passes to nothing (and {DECOMPRESS_SECONDS:g} s), "
        "in MB/s of compressed input; the ratio compares the "
        f"parse rate with the fastest listed: for gzip ISA-L's igzip (single-threaded, as the stage reads it) or "
        f"Python's gzip, for bz2 indexed_bzip2 with {s.n_process} threads (what {s.n_process} cores decompress; given "
        "the multistream index the stage's workers decompress their own bz2 streams instead) or bz2.",
        _table(
            [
                "step",
                "input",
                "compressed MB",
                "decompressed MB",
                "ratio",
                "seconds",
                "CPU s",
                "MB/s compressed",
                "MB/s decompressed",
                "items/s",
                "raw decompression MB/s",
                "parse / decompress",
                "target",
                "",
            ],
            parse_rows(r),
        ),
        *realistic_parts(r),
        "## Peak memory",
        "`stats.json` peak: largest single process (the step or one of its workers); tree: peak of the summed RSS "
        f"of the step and all its workers, sampled every {SAMPLE_SECONDS} s (pages shared between them count once "
        "per process, so an upper bound). The target is judged on the larger ratio.",
        _table(
            [
                "step",
                f"peak {small} MB",
                f"peak {large} MB",
                "ratio",
                f"tree {small} MB",
                f"tree {large} MB",
                "ratio",
                "target",
                "",
            ],
            memory_rows(r),
        ),
        "parse-wikipedia keeps its link and redirect tables in memory up to `--max-counter-entries` keys each "
        "(default 2M) and spills them to disk beyond; tables of these sizes stay in memory (spilled runs at "
        f"{large}: {r.steps[large]['parse-wikipedia'].counts.get('spilled_runs', 'not reported')}), so its growth "
        "here stops at that bound on the full dump. extract-mentions holds the mention documents in memory until "
        "it writes them.",
        "## KB, mentions and training",
        f"`train` is 1 epoch on a seeded subset of the {large} world's mentions (the learning curve's draw), "
        "including its dev evaluations; seconds per 1K mentions include fixed set-up costs.",
        _table(
            ["step", "world", "seconds", "wall s", "CPU s", "peak MB", "tree MB", "mentions", "s per 1K mentions"],
            later_rows(r),
        ),
        "## Inference speed",
        f"The linker built from the {large} world's training subset (`build-linker`) on its first "
        f"{INFERENCE_DOCS} dev paragraphs, one process, batches of 64 docs, after a warm-up. The linking step "
        "computes each sentence's context encoding once for all its mentions in one model call per batch; spaCy's "
        "own `EntityLinker.predict` (same weights, same mentions) calls the model once per mention.",
        _table(["what", "docs", "mentions", "docs/s", "mentions/s", "K chars/s"], inference_rows(r.inference)),
        "## Projection to the real dumps",
        f"Hours per step on {PROJECTION_CORES[0]} and {PROJECTION_CORES[1]} cores for Wikidata "
        f"`latest-all.json.gz` ({REAL_WIKIDATA_BYTES / GIB:.0f} GiB), enwiki `pages-articles-multistream.xml.bz2` "
        f"({REAL_WIKIPEDIA_BYTES / GIB:.0f} GiB), {REAL_ENTITIES:,} KB entities and {REAL_TRAIN_MENTIONS:,} "
        "training mentions, with `(term)` the term that binds.",
        _table(
            ["step", "real input", "model", f"{PROJECTION_CORES[0]} cores h", f"{PROJECTION_CORES[1]} cores h"],
            projection_rows(items),
        ),
        "Assumptions:",
        "\n".join(
            f"- {line}"
            for line in [
                "All rates are per CPU second (user + system of the step and its workers, from /usr/bin/time, "
                "interpreter start-up included), so that CPU time other work takes from the run does not count; a "
                f"core is assumed to give one CPU second per second. Parse rates are those of the {large} world's run "
                f"({s.n_process} processes), assumed to grow linearly with cores.",
                "The parse cost is taken to follow decompressed bytes, so the real size in decompressed GB comes from "
                f"the compression ratios of {source}: Wikidata {wd.ratio:.2f} "
                f"(synthetic gz {synthetic['wikidata']:.2f}), Wikipedia {wp.ratio:.2f} "
                f"(synthetic bz2 {synthetic['wikipedia']:.2f}). The synthetic dumps' ratio and text/markup mix differ "
                "from the real ones. Decompressed MB/s per process (the steps' own seconds), real excerpt against "
                f"{large} world: {content}. The projection uses the world's rates, as the excerpts are too small to "
                "time on CPU seconds (start-up dominates), but where the excerpt is faster the parse hours are on the "
                "safe side by about that factor.",
                f"Decompression limits (CPU time, best pass) come from {source}: gzip inflates on a single thread "
                "whatever the cores; bz2 decompression is assumed to scale linearly with cores (indexed_bzip2 threads, "
                "or the workers decompressing their own streams of a multistream dump). min() assumes "
                "decompression and parsing overlap on different cores; where they compete for the same cores the time "
                "lies between min() and the sum of both.",
                "Wikidata: the reader only substring-scans lines without an `enwiki` sitelink or P279. Fewer than a "
                "tenth of the real dump's ~110M entities have an enwiki sitelink (English Wikipedia has ~7M articles), "
                "while most synthetic and all excerpt items do, so the real per-MB parse rate should be higher and "
                "this projection is on the safe side.",
                f"Check of the Wikidata ratio: gz over bz2 size is {gz_over_bz2} for the excerpt and "
                f"{REAL_WIKIDATA_BYTES / REAL_WIKIDATA_BZ2_BYTES:.2f} for the real dumps (115 GiB / 76 GiB). The "
                "excerpt holds well-known items with many claims, so its ratio may still differ from the dump's "
                "average.",
                "build-kb is dominated by floret training, linear in its text, which project.yml caps at "
                f"{r.project_vars['max_vector_text_mb']} MB (`max_vector_text_mb`; full enwiki text is far larger), on "
                f"{_threads(r.project_vars['vector_threads'])} (`vector_threads`); the rest (priors, KB writing) grows "
                "with the entities and is not separated here: the model column shows the hours if all of it did.",
                "extract-mentions is linear in mentions; training is linear in mentions x epochs "
                f"({r.project_vars['max_epochs']} epochs, project.yml's `max_epochs`) on one process, measured on a "
                "small subset, so set-up costs make it an overestimate. fetch (download), evaluate and the learning "
                "curve are not projected.",
            ]
        ),
    ]
    if r.realistic_wikipedia is not None:
        parts.append(render_realistic_wikipedia(r.realistic_wikipedia))
    return "\n\n".join(parts) + "\n"


# --- parse-wikipedia on real page text ----------------------------------------------------------------------------
# The worlds' pages are generated text; this part builds a multistream dump like enwiki's (100 pages per bz2 stream,
# with its index) out of the real excerpt's pages, as large as asked, and times parse-wikipedia on it against
# indexed_bzip2 decompressing the same file.

PAGES_PER_STREAM = 100  # as in enwiki's pages-articles-multistream
REAL_WIKIPEDIA_XML_BYTES = 100 * 10**9  # enwiki pages-articles, decompressed (about)
WIKIPEDIA_PROJECTION_CORES = (2, 16, 64)
WIKIPEDIA_OUTPUTS = ("siteinfo.json", "redirects.tsv", "link_counts.tsv", "inlink_counts.tsv", "articles.jsonl")
_PAGE_RE = re.compile(rb"  <page>.*?</page>\n", re.S)
_TITLE_RE = re.compile(rb"<title>([^<]*)</title>")
_PAGE_ID_RE = re.compile(rb"(</ns>\s*<id>)(\d+)(</id>)")


@dataclass
class RealisticWikipedia:
    """The realistic multistream dump and what was measured on it."""

    source: str  # the excerpt its pages come from
    pages: int
    streams: int
    compressed_bytes: int
    decompressed_bytes: int
    n_process: int
    decompress_seconds: Dict[str, float] = field(default_factory=dict)  # "indexed_bzip2 x1" ... -> best wall s
    runs: Dict[str, StepRun] = field(default_factory=dict)  # "with index", "without index"
    cpu_seconds: Dict[str, float] = field(default_factory=dict)  # the step's (stats.json), workers included
    main_cpu_seconds: Dict[str, float] = field(default_factory=dict)  # of its main process alone

    @property
    def ratio(self) -> float:
        return self.decompressed_bytes / self.compressed_bytes

    @property
    def limit(self) -> str:
        """The decompressor the parse rate is compared with: indexed_bzip2 on as many threads as processes."""
        return f"indexed_bzip2 x{self.n_process}"


def _excerpt_parts(excerpt: Path) -> Tuple[bytes, List[bytes], bytes]:
    """The excerpt's XML cut into its header (up to the first page), its <page> elements and its tail."""
    with bz2.open(excerpt, "rb") as f:
        xml = f.read()
    pages = _PAGE_RE.findall(xml)
    if not pages:
        raise InputError(excerpt, "holds no <page> elements", hint="give a pages-articles XML excerpt")
    first, last = xml.index(pages[0]), xml.rindex(pages[-1]) + len(pages[-1])
    return xml[:first], pages, xml[last:]


def _page_copy(page: bytes, copy: int, page_id: int) -> Tuple[bytes, bytes]:
    """The page with a title made distinct by its copy number and a new page id; and its title."""
    if copy:
        page = _TITLE_RE.sub(lambda m: b"<title>" + m.group(1) + b" (%d)</title>" % copy, page, count=1)
    page = _PAGE_ID_RE.sub(lambda m: m.group(1) + b"%d" % page_id + m.group(3), page, count=1)
    title = _TITLE_RE.search(page)
    return page, title.group(1) if title else b""


def _compress_stream(data: bytes) -> bytes:
    return bz2.compress(data, 9)


def _compress_pages(batch: Tuple[bytes, List[Tuple[int, bytes]]]) -> Tuple[bytes, List[Tuple[int, bytes]], int]:
    data, entries = batch
    return _compress_stream(data), entries, len(data)


def build_realistic_wikipedia(
    excerpt: Path, dump: Path, index: Path, target_bytes: int, n_process: int
) -> Tuple[int, int, int]:
    """Write a multistream bz2 dump of about `target_bytes` of XML (the excerpt's header and tail, its pages
    repeated with distinct titles and ids, PAGES_PER_STREAM to a stream, in the excerpt's order so that a stream
    holds no page twice) and its index (`offset:id:title` lines, bz2). Returns (pages, streams, XML bytes)."""
    header, pages, tail = _excerpt_parts(excerpt)

    def batches() -> Iterator[Tuple[bytes, List[Tuple[int, bytes]]]]:
        size, n = len(header) + len(tail), 0
        batch: List[bytes] = []
        entries: List[Tuple[int, bytes]] = []
        while size < target_bytes or batch:
            page, title = _page_copy(pages[n % len(pages)], n // len(pages), n + 1)
            batch.append(page)
            entries.append((n + 1, title))
            size += len(page)
            n += 1
            if len(batch) == PAGES_PER_STREAM or size >= target_bytes:
                yield b"".join(batch), entries
                batch, entries = [], []

    n_pages = n_streams = 0
    xml_bytes = len(header) + len(tail)
    with (
        multiprocessing.Pool(max(1, n_process)) as pool,
        open(dump, "wb") as out,
        bz2.open(index, "wb") as index_out,
    ):
        out.write(_compress_stream(header))
        for compressed, entries, size in pool.imap(_compress_pages, batches(), 4):
            offset = out.tell()
            out.write(compressed)
            index_out.write(b"".join(b"%d:%d:%s\n" % (offset, page_id, title) for page_id, title in entries))
            n_pages, n_streams, xml_bytes = n_pages + len(entries), n_streams + 1, xml_bytes + size
        out.write(_compress_stream(tail))
    return n_pages, n_streams, xml_bytes


def _best_decompression(path: Path, threads: int, repeats: int = 2) -> float:
    """Best wall seconds of `repeats` passes of indexed_bzip2 with `threads` threads decompressing `path` to nothing."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        with indexed_bzip2.open(str(path), parallelization=threads) as stream:
            while stream.read(CHUNK):
                pass
        best = min(best, time.perf_counter() - start)
    return round(best, 3)


def measure_realistic_wikipedia(base: Path, excerpt: Path, target_bytes: int, n_process: int) -> RealisticWikipedia:
    """Build the realistic multistream dump in `base`, time indexed_bzip2 on it (1 and `n_process` threads) and
    parse-wikipedia (`n_process` processes) with and without its index; the two runs' outputs must be identical."""
    base.mkdir(parents=True, exist_ok=True)
    dump = base / "enwiki-realistic-pages-articles-multistream.xml.bz2"
    index = base / "enwiki-realistic-pages-articles-multistream-index.txt.bz2"
    print(f"realistic Wikipedia dump of {target_bytes / 1e6:,.0f} MB of XML from {excerpt.name}", file=sys.stderr)
    pages, streams, xml_bytes = build_realistic_wikipedia(excerpt, dump, index, target_bytes, n_process)
    result = RealisticWikipedia(str(excerpt), pages, streams, dump.stat().st_size, xml_bytes, n_process)
    for threads in sorted({1, n_process}):
        result.decompress_seconds[f"indexed_bzip2 x{threads}"] = _best_decompression(dump, threads)
    outputs = {}
    for label, extra in (("with index", ["--index", index]), ("without index", [])):
        out = base / "corpus" / label.replace(" ", "-")
        args = [*CLI, "parse-wikipedia", "--dump", dump, *extra, out, "--n-process", n_process]
        result.runs[label] = run_step("parse-wikipedia", args, out, base / "logs" / f"{out.name}.log")
        stats = read_json(out / "stats.json")
        result.cpu_seconds[label], result.main_cpu_seconds[label] = stats["cpu_seconds"], stats["main_cpu_seconds"]
        outputs[label] = [file_digest(out / name) for name in WIKIPEDIA_OUTPUTS]
    if len({tuple(digests) for digests in outputs.values()}) != 1:
        raise BenchmarkError(f"parse-wikipedia wrote different outputs with and without the index in {base / 'corpus'}")
    return result


def wikipedia_projection(r: RealisticWikipedia, label: str = "with index") -> Dict[int, Tuple[float, str]]:
    """Hours for the real enwiki dump (REAL_WIKIPEDIA_XML_BYTES of XML) on WIKIPEDIA_PROJECTION_CORES cores: the
    step's CPU seconds per MB (workers and main process) spread over the cores, unless the main process's own CPU
    seconds per MB (merging, counting, writing: serial) bind."""
    mb = r.decompressed_bytes / 1e6
    real_mb = REAL_WIKIPEDIA_XML_BYTES / 1e6
    total, main = r.cpu_seconds[label] / mb, r.main_cpu_seconds[label] / mb
    return {
        cores: (real_mb * max(total / cores, main) / 3600, "cores" if total / cores >= main else "main process")
        for cores in WIKIPEDIA_PROJECTION_CORES
    }


def render_realistic_wikipedia(r: RealisticWikipedia) -> str:
    """The report's section on the realistic Wikipedia dump."""
    limit_rate = r.compressed_bytes / 1e6 / r.decompress_seconds[r.limit]
    target = PARSE_TARGETS["wikipedia"]
    rows = [
        [
            name,
            f"{seconds:.2f}",
            f"{r.compressed_bytes / 1e6 / seconds:.1f}",
            f"{r.decompressed_bytes / 1e6 / seconds:.1f}",
            "",
            "",
            "",
        ]
        for name, seconds in r.decompress_seconds.items()
    ]
    for label, run in r.runs.items():
        rate = r.compressed_bytes / 1e6 / run.seconds
        rows.append(
            [
                f"parse-wikipedia {label}, {r.n_process} processes",
                f"{run.seconds:.2f}",
                f"{rate:.1f}",
                f"{rate * r.ratio:.1f}",
                f"{rate / limit_rate:.2f}",
                f">= {target}",
                _mark(rate / limit_rate >= target),
            ]
        )
    hours = {label: wikipedia_projection(r, label) for label in r.runs}
    cpu, main = r.cpu_seconds["with index"], r.main_cpu_seconds["with index"]
    mb = r.decompressed_bytes / 1e6
    return "\n\n".join(
        [
            "## parse-wikipedia on real page text",
            f"A multistream dump built from the real pages of `{Path(r.source).name}` (106 articles and 99 redirects, "
            f"repeated with distinct titles and page ids): {r.pages:,} pages in {r.streams:,} bz2 streams of "
            f"{PAGES_PER_STREAM} pages (bz2 -9, as enwiki's) with its index, {r.compressed_bytes / 1e6:,.1f} MB "
            f"compressed, {mb:,.1f} MB of XML (ratio {r.ratio:.2f}; the real enwiki dump's is about "
            f"{REAL_WIKIPEDIA_XML_BYTES / REAL_WIKIPEDIA_BYTES:.1f}). Seconds: best of 2 passes to nothing for "
            "indexed_bzip2; the step's own (`stats.json`) for parse-wikipedia, whose two runs' outputs are "
            f"identical. The ratio compares with {r.limit} (what {r.n_process} cores decompress).",
            _table(["what", "seconds", "MB/s compressed", "MB/s decompressed", f"over {r.limit}", "target", ""], rows),
            f"Projection to the real enwiki dump ({REAL_WIKIPEDIA_BYTES / GIB:.0f} GiB bz2, about "
            f"{REAL_WIKIPEDIA_XML_BYTES / 1e9:.0f} GB of XML), from the run with the index: "
            f"{cpu / mb:.3f} CPU s per MB of XML in all processes ({cpu:.1f} CPU s), of which {main / mb:.3f} in "
            "the main process (merging the results in order, counting, writing: one core whatever the workers).",
            _table(
                ["run", *[f"{c} cores h" for c in WIKIPEDIA_PROJECTION_CORES]],
                [
                    [label, *[f"{h[c][0]:.2f} ({h[c][1]})" for c in WIKIPEDIA_PROJECTION_CORES]]
                    for label, h in hours.items()
                ],
            ),
            "Assumptions: hours = XML MB x max(all CPU s per MB / cores, main-process CPU s per MB); the real pages "
            "cost what these do per MB (the excerpt's articles are long, well-linked ones; the real mix has more "
            "stubs and redirects); a core gives one CPU second per second and the workers' share scales linearly "
            "(64 cores: several machines on a Dask cluster, `--scheduler`, with the dump on a shared filesystem read "
            "at >= 100 MB/s; the network moves the workers' results, about a quarter of the XML, to the main "
            "process); the main process's work does not grow with the number of workers.",
        ]
    )
