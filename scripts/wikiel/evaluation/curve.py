"""learning-curve: dev accuracy against the number of training mentions (1K ... 200K, capped at what exists).

Every point trains from scratch on the first N mentions of one seeded shuffle of the train set, for the same number of
epochs, and is scored on the same dev set with model-last (no checkpoint selection on dev). Baselines that do not
depend on training (random, prior, oracle) are drawn as horizontal lines. The points train in `n_process` worker
processes at once (vars.curve_processes, 2 by default), the largest first; a point's result is the same whichever
process trains it and in whichever order (tests/test_curve_parallel.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import matplotlib
import matplotlib.pyplot as plt
import spacy

from wikiel import defaults
from wikiel.corpus.docs import count_mentions, read_docs, subset_docs, write_docs
from wikiel.evaluation.evaluate import evaluate_pipeline, load_pipeline
from wikiel.parallel import executor
from wikiel.training.train import train_pipeline
from wikiel.util import (
    TMP_SUFFIX,
    StepStats,
    atomic_open,
    atomic_path,
    peak_memory_mb,
    remove_stale_temporaries,
    write_json,
    writes_step,
)

DEFAULT_SIZES = tuple(int(n) for n in defaults.CURVE_SIZES.split(","))
BASELINES = ("random", "prior", "oracle")
COLUMNS = ("context+prior", "context", "pipeline")  # pipeline: a linker without the cosine methods (nel-seed.cfg)


def curve_sizes(sizes: Sequence[int], available: int) -> List[int]:
    """The requested sizes up to what exists, plus `available` itself when it falls short of the largest size."""
    out = [n for n in sorted(set(sizes)) if n <= available]
    if available < max(sizes) and available not in out:
        out.append(available)
    return out


@contextlib.contextmanager
def training_scratch(output_dir: Path) -> Iterator[Path]:
    """A scratch directory for the subsets and models of the curve, `output_dir/.train.tmp-PID`: removed when the
    step ends in any way Python sees (success, error, Ctrl-C); what a killed run left (its process is gone) is
    removed when the next run starts."""
    output_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(output_dir)
    tmp = output_dir / f".train{TMP_SUFFIX}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# Each point keeps model-last and is scored once at the end; spaCy still evaluates at step 0 whatever the frequency, so
# that evaluation reads one dev doc only (it draws no random number: the points' models are the same as with the whole
# dev set there, at a fraction of the cost).
POINT_OVERRIDES = {"training.eval_frequency": 1_000_000, "training.patience": 0, "corpora.dev.limit": 1}


@dataclass(frozen=True)
class Point:
    """One point of the curve: train on `train_path` (`mentions` mentions) into `model_dir`, score on the dev set."""

    mentions: int
    train_path: Path
    model_dir: Path
    log_path: Path
    config: Path
    dev_path: Path
    kb_dir: Path
    vectors: Optional[str]
    lang: str
    epochs: int
    seed: int


def train_point(point: Point) -> dict:
    """Train and score one point (in a worker process or in this one: the result is the same, since spaCy's
    training seeds every generator it uses from `point.seed` when it starts); the model is removed afterwards."""
    cpu_start = time.process_time()
    with open(point.log_path, "w", encoding="utf8") as log, contextlib.redirect_stdout(log):
        run = train_pipeline(
            point.config,
            point.model_dir,
            point.train_path,
            point.dev_path,
            point.kb_dir,
            point.vectors,
            lang=point.lang,
            max_epochs=point.epochs,
            seed=point.seed,
            overrides=POINT_OVERRIDES,
            quiet=True,
        )
    train_cpu_seconds = time.process_time() - cpu_start
    nlp = load_pipeline(point.model_dir / "model-last")
    summary = evaluate_pipeline(nlp, read_docs(point.dev_path, nlp), seed=point.seed, pipeline=False)
    shutil.rmtree(point.model_dir)
    methods = summary["methods"]
    return {
        "mentions": point.mentions,
        "train_seconds": run["seconds"],
        "train_cpu_seconds": round(train_cpu_seconds, 2),
        **{m: methods[m]["accuracy"] for m in COLUMNS if m in methods},
        "baselines": {m: methods[m]["accuracy"] for m in BASELINES},
        "worker_peak_memory_mb": peak_memory_mb(),
    }


@writes_step("learning-curve")
def learning_curve(
    config: Path,
    train_path: Path,
    dev_path: Path,
    kb_dir: Path,
    vectors: Optional[str],
    output_dir: Path,
    sizes: Sequence[int] = DEFAULT_SIZES,
    lang: str = defaults.LANG,
    epochs: int = defaults.CURVE_EPOCHS,
    seed: int = defaults.SEED,
    n_process: int = defaults.CURVE_PROCESSES,
) -> dict:
    """Train and score one pipeline per size, `n_process` at a time (each in its own process; the largest first, so
    that two processes finish close together); write curve.json, curve.md, curve.png, stats.json and the training
    logs (logs/train-N.log)."""
    output_dir = Path(output_dir)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs} (spaCy trains without end at 0)")
    if not sizes or min(sizes) < 1:
        raise ValueError(f"sizes must be numbers of mentions >= 1, got {list(sizes)}")
    if n_process < 1:
        raise ValueError(f"n_process must be >= 1, got {n_process}")
    stats = StepStats("learning-curve")
    nlp = spacy.blank(lang)
    train_docs = read_docs(train_path, nlp)
    dev_mentions = count_mentions(read_docs(dev_path, nlp))
    available = count_mentions(train_docs)
    point_sizes = curve_sizes(sizes, available)
    processes = min(n_process, len(point_sizes))
    (output_dir / "logs").mkdir(parents=True, exist_ok=True)
    with training_scratch(output_dir) as tmp:

        def points() -> Iterator[Point]:
            """Each point's subset, written when its training is about to be submitted, largest first."""
            for n in sorted(point_sizes, reverse=True):
                subset = subset_docs(train_docs, n, seed=seed)
                write_docs(subset, tmp / f"train-{n}.spacy")
                yield Point(
                    count_mentions(subset),
                    tmp / f"train-{n}.spacy",
                    tmp / f"model-{n}",
                    output_dir / "logs" / f"train-{n}.log",
                    config,
                    dev_path,
                    kb_dir,
                    vectors,
                    lang,
                    epochs,
                    seed,
                )

        done: List[Dict] = []
        with executor(processes) as ex:
            for point in ex.map_in_order(train_point, points(), describe=lambda p: f"curve point {p.mentions}"):
                done.append(point)
                print(
                    f"{point['mentions']:>7} mentions: "
                    + " ".join(f"{m} {point[m]:.3f}" for m in columns([point]))
                    + f" ({point['train_seconds']:.0f}s)",
                    flush=True,
                )
    done.sort(key=lambda p: p["mentions"])
    baselines: Dict[str, float] = done[-1]["baselines"]  # the same for every point: they use no training
    points_out = [{k: v for k, v in p.items() if k not in ("baselines", "worker_peak_memory_mb")} for p in done]
    result = {
        "dev_mentions": dev_mentions,
        "train_mentions_available": available,
        "epochs": epochs,
        "processes": processes,
        "baselines": baselines,
        "points": points_out,
    }
    write_json(output_dir / "curve.json", result)
    with atomic_open(output_dir / "curve.md") as f:
        f.write(markdown_curve(result))
    plot_curve(result, output_dir / "curve.png")
    stats["points"] = len(points_out)
    stats["train_mentions_available"] = available
    stats["processes"] = processes
    # what one process training a point reached (this process's own peak is the step's peak_memory_mb); at most
    # `processes` of them run at once
    stats["point_peak_memory_mb"] = max(p["worker_peak_memory_mb"] for p in done)
    stats.write(output_dir / "stats.json")
    return result


def columns(points: List[Dict]) -> List[str]:
    """The accuracy columns the points have: context+prior and context (v3), or pipeline (the seed's linker)."""
    return [m for m in COLUMNS if points and m in points[0]]


def markdown_curve(result: dict) -> str:
    cols = columns(result["points"])
    lines = [
        f"Dev accuracy ({result['dev_mentions']} in-KB mentions) by number of training mentions, "
        f"{result['epochs']} epochs each, {result.get('processes', 1)} trained at once (train seconds: wall time of "
        "each point's training; CPU: its processor time, which does not depend on what else runs).",
        "",
        "| train mentions | " + " | ".join(cols) + " | train seconds | train CPU seconds |",
        "|---|" + "---|" * len(cols) + "---|---|",
    ]
    for p in result["points"]:
        cells = " | ".join(f"{p[m]:.3f}" for m in cols)
        cpu = f"{p['train_cpu_seconds']:.0f}" if "train_cpu_seconds" in p else ""
        lines.append(f"| {p['mentions']} | {cells} | {p['train_seconds']:.0f} | {cpu} |")
    lines.append("")
    lines.append("Baselines: " + ", ".join(f"{m} {v:.3f}" for m, v in result["baselines"].items()))
    return "\n".join(lines) + "\n"


def plot_curve(result: dict, path: Path) -> None:
    matplotlib.use("Agg")
    xs = [p["mentions"] for p in result["points"]]
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for m, style in zip(sorted(columns(result["points"]), key=lambda m: m != "context"), ("o-", "s--")):
        ax.plot(xs, [p[m] for p in result["points"]], style, label=m)
    colors = {"random": "grey", "prior": "tab:red", "oracle": "tab:green"}
    for m, v in result["baselines"].items():
        ax.axhline(v, color=colors[m], linestyle=":", label=f"{m} ({v:.3f})")
    ax.set_xscale("log")
    ax.set_xlabel("training mentions")
    ax.set_ylabel("dev accuracy (in-KB mentions)")
    ax.set_ylim(max(0.0, round(min(result["baselines"].values()) - 0.15, 1)), 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Entity linking accuracy vs. number of training mentions")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
