"""learning-curve: dev accuracy against the number of training mentions (1K ... 200K, capped at what exists).

Every point trains from scratch on the first N mentions of one seeded shuffle of the train set, for the same number of
epochs, and is scored on the same dev set with model-last (no checkpoint selection on dev). Baselines that do not
depend on training (random, prior, oracle) are drawn as horizontal lines.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import matplotlib
import matplotlib.pyplot as plt
import spacy

from wikiel import defaults
from wikiel.corpus.docs import count_mentions, read_docs, subset_docs, write_docs
from wikiel.evaluation.evaluate import evaluate_pipeline, load_pipeline
from wikiel.training.train import train_pipeline
from wikiel.util import (
    TMP_SUFFIX,
    StepStats,
    atomic_open,
    atomic_path,
    remove_stale_temporaries,
    write_json,
    writes_step,
)

DEFAULT_SIZES = tuple(int(n) for n in defaults.CURVE_SIZES.split(","))
BASELINES = ("random", "prior", "oracle")
TRAINED = ("context", "context+prior")
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
) -> dict:
    """Train and score one pipeline per size; write curve.json, curve.md, curve.png, stats.json and the training
    logs (logs/train-N.log)."""
    output_dir = Path(output_dir)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs} (spaCy trains without end at 0)")
    if not sizes or min(sizes) < 1:
        raise ValueError(f"sizes must be numbers of mentions >= 1, got {list(sizes)}")
    stats = StepStats("learning-curve")
    nlp = spacy.blank(lang)
    train_docs = read_docs(train_path, nlp)
    dev_docs = read_docs(dev_path, nlp)
    available = count_mentions(train_docs)
    points: List[Dict] = []
    baselines: Dict[str, float] = {}
    overrides = {"training.eval_frequency": 1_000_000, "training.patience": 0}  # no dev evaluation: model-last
    with training_scratch(output_dir) as tmp:
        for n in curve_sizes(sizes, available):
            subset = subset_docs(train_docs, n, seed=seed)
            subset_path = tmp / f"train-{n}.spacy"
            write_docs(subset, subset_path)
            log_path = output_dir / "logs" / f"train-{n}.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with open(log_path, "w", encoding="utf8") as log, contextlib.redirect_stdout(log):
                run = train_pipeline(
                    config,
                    tmp / f"model-{n}",
                    subset_path,
                    dev_path,
                    kb_dir,
                    vectors,
                    lang=lang,
                    max_epochs=epochs,
                    seed=seed,
                    overrides=overrides,
                    quiet=True,
                )
            summary = evaluate_pipeline(load_pipeline(tmp / f"model-{n}" / "model-last"), dev_docs, seed=seed)
            methods = summary["methods"]
            baselines = {m: methods[m]["accuracy"] for m in BASELINES}
            points.append(
                {
                    "mentions": count_mentions(subset),
                    "train_seconds": run["seconds"],
                    **{m: methods[m]["accuracy"] for m in TRAINED if m in methods},
                }
            )
            if not any(m in methods for m in TRAINED):
                points[-1]["pipeline"] = methods["pipeline"]["accuracy"]
            accuracies = " ".join(f"{m} {points[-1][m]:.3f}" for m in columns(points))
            print(f"{points[-1]['mentions']:>7} mentions: {accuracies} ({run['seconds']:.0f}s)", flush=True)
            shutil.rmtree(tmp / f"model-{n}")
    result = {
        "dev_mentions": count_mentions(dev_docs),
        "train_mentions_available": available,
        "epochs": epochs,
        "baselines": baselines,
        "points": points,
    }
    write_json(output_dir / "curve.json", result)
    with atomic_open(output_dir / "curve.md") as f:
        f.write(markdown_curve(result))
    plot_curve(result, output_dir / "curve.png")
    stats["points"] = len(points)
    stats["train_mentions_available"] = available
    stats.write(output_dir / "stats.json")
    return result


def columns(points: List[Dict]) -> List[str]:
    """The accuracy columns the points have: context+prior and context (v3), or pipeline (the seed's linker)."""
    return [m for m in COLUMNS if points and m in points[0]]


def markdown_curve(result: dict) -> str:
    cols = columns(result["points"])
    lines = [
        f"Dev accuracy ({result['dev_mentions']} in-KB mentions) by number of training mentions, "
        f"{result['epochs']} epochs each.",
        "",
        "| train mentions | " + " | ".join(cols) + " | train seconds |",
        "|---|" + "---|" * len(cols) + "---|",
    ]
    for p in result["points"]:
        cells = " | ".join(f"{p[m]:.3f}" for m in cols)
        lines.append(f"| {p['mentions']} | {cells} | {p['train_seconds']:.0f} |")
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
