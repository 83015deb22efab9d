"""evaluate-benchmarks: score a linking pipeline on ELEVANT-format benchmarks; JSON + markdown, printed."""
from pathlib import Path
from typing import List, Optional

import typer
from tqdm import tqdm

from wikiel.elevant import benchmark_files, benchmark_name, evaluate_benchmarks, load_pipeline, markdown_report, \
    read_benchmark
from wikiel.util import StepStats, atomic_open, cli_errors, write_json


def main(
    pipeline: Path = typer.Argument(..., help="pipeline with an entity_linker (and a mention_detector for end to end)"),
    benchmarks: List[Path] = typer.Argument(..., help="*.benchmark.jsonl files or directories holding them"),
    output_dir: Path = typer.Argument(..., help="where benchmarks.json, benchmarks.md and stats.json go"),
    limit_docs: Optional[int] = typer.Option(None, "--limit-docs", min=1, help="only the first N docs of each"),
    skip_missing: bool = typer.Option(False, "--skip-missing", help="when no benchmark path exists, write a note and exit 0 (the workflow on a machine without the benchmark files)"),
):
    with cli_errors():
        stats = StepStats("evaluate-benchmarks")
        if skip_missing and not any(p.exists() for p in benchmarks):
            note = f"No benchmark files at {', '.join(map(str, benchmarks))}: skipped (set vars.benchmarks_dir).\n"
            with atomic_open(output_dir / "benchmarks.md") as f:
                f.write(note)
            stats["benchmarks"] = 0
            stats.write(output_dir / "stats.json")
            print(note.strip())
            return
        data = {benchmark_name(f): read_benchmark(f, limit=limit_docs) for f in benchmark_files(benchmarks)}
        nlp = load_pipeline(pipeline)
        with tqdm(total=sum(map(len, data.values())), unit="doc", desc="benchmarks") as bar:
            result = evaluate_benchmarks(nlp, data, progress=bar.update)
        result["pipeline"] = str(pipeline)
        report = markdown_report(result)
        write_json(output_dir / "benchmarks.json", result)
        with atomic_open(output_dir / "benchmarks.md") as f:
            f.write(report)
        total = result["total"]
        stats["benchmarks"] = len(data)
        stats["docs"] = total["docs"]
        stats["gold_labels"] = total["gold"]["labels"]
        stats["gold_in_kb"] = total["gold"]["in_kb"]
        if total["end_to_end"] is not None:
            stats["predictions"] = total["end_to_end"]["predictions"]
        stats.write(output_dir / "stats.json")
        print(report)


if __name__ == "__main__":
    typer.run(main)
