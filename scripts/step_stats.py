"""step-stats: one markdown table of every step's stats.json (seconds, peak memory, main counts)."""
from pathlib import Path
from typing import List

import typer

from wikiel.util import atomic_open, read_json

STEP_ORDER = ["parse-wikidata", "parse-wikipedia", "build-kb", "extract-mentions", "train", "evaluate",
              "build-linker", "evaluate-benchmarks", "learning-curve"]
HEADLINE_COUNTS = {
    "parse-wikidata": ["kept", "entities", "bytes_in"],
    "parse-wikipedia": ["articles", "redirects", "links", "input_bytes"],
    "build-kb": ["entities", "aliases", "pairs", "kb_bytes"],
    "extract-mentions": ["train.mentions", "dev.mentions"],
    "learning-curve": ["points", "train_mentions_available"],
    "evaluate": ["mentions"],
    "build-linker": ["detection_threshold", "nil_threshold", "dev.gold_mentions"],
    "evaluate-benchmarks": ["benchmarks", "docs", "gold_labels", "gold_in_kb"],
}


def _count(counts: dict, key: str):
    for part in key.split("."):
        counts = counts.get(part, {}) if isinstance(counts, dict) else {}
    return counts if counts != {} else ""


def main(
    roots: List[Path] = typer.Argument(..., help="directories to search for stats.json (e.g. corpus training)"),
    output: Path = typer.Option(None, help="write the table here too"),
):
    rows = []
    for root in roots:
        for path in sorted(root.rglob("stats.json")):
            stats = read_json(path)
            if "step" in stats and "curve-" not in str(path):
                rows.append(stats)
    rows.sort(key=lambda s: STEP_ORDER.index(s["step"]) if s["step"] in STEP_ORDER else len(STEP_ORDER))
    lines = ["| step | seconds | peak memory (MB) | counts |", "|---|---|---|---|"]
    for s in rows:
        counts = ", ".join(f"{k} {_count(s['counts'], k):,}" if isinstance(_count(s["counts"], k), int) else
                           f"{k} {_count(s['counts'], k)}" for k in HEADLINE_COUNTS.get(s["step"], []))
        lines.append(f"| {s['step']} | {s['seconds']:.1f} | {s['peak_memory_mb']:.0f} | {counts} |")
    table = "\n".join(lines) + "\n"
    if output:
        with atomic_open(output) as f:
            f.write(table)
    print(table)


if __name__ == "__main__":
    typer.run(main)
