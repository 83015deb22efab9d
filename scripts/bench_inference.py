"""Benchmark: inference speed of a built linker on dev paragraphs (one process, CPU).

    python scripts/bench_inference.py training/linker/model corpus/wikipedia/articles.jsonl [--docs 500]
"""
import json
from pathlib import Path

import typer

from wikiel.link import load_linker
from wikiel.speed import dev_texts, inference_rows, measure_inference
from wikiel.util import cli_errors, require_inputs


def main(pipeline: str = typer.Argument(..., help="pipeline directory or installed package"),
         articles: Path = typer.Argument(..., help="parse-wikipedia's articles.jsonl (its dev paragraphs are linked)"),
         docs: int = typer.Option(500, "--docs", min=1, help="dev paragraphs to link")) -> None:
    with cli_errors():
        require_inputs({"parse-wikipedia:articles": articles})
        result = measure_inference(load_linker(pipeline), dev_texts(articles, docs))
        print("| what | docs | mentions | docs/s | mentions/s | K chars/s |\n|---|---|---|---|---|---|")
        for row in inference_rows(result):
            print("| " + " | ".join(row) + " |")
        print(json.dumps(result))


if __name__ == "__main__":
    typer.run(main)
