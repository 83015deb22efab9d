"""evaluate: score a trained pipeline and the baselines on the dev mentions; JSON + markdown, printed."""
from pathlib import Path

import spacy
import typer

from wikiel.corpus import read_docs
from wikiel.evaluate import evaluate_pipeline, load_pipeline, markdown_table
from wikiel.util import StepStats, atomic_open, cli_errors, write_json


def main(
    model: Path = typer.Argument(..., help="trained pipeline (training/nel/model-best)"),
    dev: Path = typer.Argument(..., help="dev mentions (.spacy)"),
    output_dir: Path = typer.Argument(..., help="where evaluation.json and evaluation.md go"),
    seed: int = typer.Option(0),
):
    with cli_errors():
        stats = StepStats("evaluate")
        nlp = load_pipeline(model)
        summary = evaluate_pipeline(nlp, read_docs(dev, spacy.blank(nlp.lang)), seed=seed)
        table = markdown_table(summary)
        write_json(output_dir / "evaluation.json", summary)
        with atomic_open(output_dir / "evaluation.md") as f:
            f.write(table)
        stats["mentions"] = summary["mentions"]
        stats.write(output_dir / "stats.json")
        print(table)


if __name__ == "__main__":
    typer.run(main)
