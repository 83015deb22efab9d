"""One markdown table of every step's stats.json (seconds, peak memory, main counts), for the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Sequence

from wikiel.util import read_json

STEP_ORDER = [
    "parse-wikidata",
    "parse-wikipedia",
    "build-kb",
    "extract-mentions",
    "train",
    "train-detector",
    "evaluate",
    "build-linker",
    "evaluate-benchmarks",
    "evaluate-corpus",
    "learning-curve",
]
HEADLINE_COUNTS = {
    "parse-wikidata": ["kept", "entities", "bytes_in"],
    "parse-wikipedia": ["articles", "redirects", "links", "input_bytes"],
    "build-kb": ["entities", "aliases", "pairs", "kb_bytes"],
    "extract-mentions": ["train.mentions", "dev.mentions"],
    "learning-curve": ["points", "train_mentions_available"],
    "evaluate": ["mentions"],
    "train-detector": ["train.spans", "dev.spans"],
    "build-linker": ["detector", "detection_threshold", "nil_threshold", "dev.gold_mentions"],
    "evaluate-benchmarks": ["benchmarks", "docs", "gold_labels", "gold_in_kb"],
    "evaluate-corpus": ["docs", "gold_mentions", "accuracy@1", "mention_f1"],
}


def _count(counts: dict, key: str):
    for part in key.split("."):
        counts = counts.get(part, {}) if isinstance(counts, dict) else {}
    return counts if counts != {} else ""


def step_table(roots: Sequence[Path]) -> str:
    """The table of the steps whose stats.json lie under `roots` (learning-curve points left out), in workflow
    order."""
    rows: List[Dict[str, Any]] = []
    for root in roots:
        for path in sorted(Path(root).rglob("stats.json")):
            stats = read_json(path)
            if "step" in stats and "curve-" not in str(path):
                rows.append(stats)
    rows.sort(key=lambda s: STEP_ORDER.index(s["step"]) if s["step"] in STEP_ORDER else len(STEP_ORDER))
    lines = ["| step | seconds | peak memory (MB) | counts |", "|---|---|---|---|"]
    for s in rows:
        parts = []
        for key in HEADLINE_COUNTS.get(s["step"], []):
            value = _count(s["counts"], key)
            parts.append(f"{key} {value:,}" if isinstance(value, int) else f"{key} {value}")
        lines.append(f"| {s['step']} | {s['seconds']:.1f} | {s['peak_memory_mb']:.0f} | {', '.join(parts)} |")
    return "\n".join(lines) + "\n"
