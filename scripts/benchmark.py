"""benchmark: time raw decompression and every stage on 1x and Nx generated worlds (and the real excerpts),
project the hours for the real dumps and write a markdown report to OUTPUT_MD.

    python scripts/benchmark.py docs/benchmark.md --entities 20000 --articles 4000 --scale 4 --n-process 2
"""
import contextlib
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Optional

import typer

from wikiel.benchmark import BenchmarkError, Settings, render_markdown, run_benchmark
from wikiel.fetch import EXCERPTS_DIR
from wikiel.util import atomic_open, cli_errors, fail, resolve_processes, write_json


def main(
    output_md: Path = typer.Argument(..., help="Markdown report to write"),
    entities: int = typer.Option(20_000, min=100, help="Entities of the 1x world"),
    articles: int = typer.Option(4_000, min=10, help="Articles of the 1x world"),
    scale: int = typer.Option(4, min=2, help="Size of the large world, in multiples of the 1x world"),
    n_process: int = typer.Option(2, help="--n-process of the parse stages and indexed_bzip2 threads; 0 = all cores"),
    train_mentions: int = typer.Option(2_000, min=10, help="Training subset (1 epoch); dev gets a quarter as many"),
    seed: int = typer.Option(0, help="Seed of the worlds and the subset"),
    excerpts_dir: Path = typer.Option(EXCERPTS_DIR, help="Real excerpts (skipped when missing)"),
    workdir: Optional[Path] = typer.Option(None, help="Keep worlds, outputs, logs and results.json here "
                                           "(default: a temporary directory, removed afterwards)"),
) -> None:
    """Benchmark the workflow in one run and write the report."""
    settings = Settings(entities, articles, scale, resolve_processes(n_process), train_mentions, seed)
    command = shlex.join(["python", "scripts/benchmark.py", *sys.argv[1:]])
    scratch = contextlib.nullcontext(workdir) if workdir else tempfile.TemporaryDirectory(prefix="wikiel-benchmark-")
    with cli_errors(), scratch as work:
        work = Path(work)
        try:
            results = run_benchmark(work, settings, command, excerpts_dir)
        except BenchmarkError as err:
            fail(str(err))
        write_json(work / "results.json", results)
        report = render_markdown(results)
        with atomic_open(output_md) as f:
            f.write(report)
    print(report)
    print(f"-> {output_md}", file=sys.stderr)


if __name__ == "__main__":
    typer.run(main)
