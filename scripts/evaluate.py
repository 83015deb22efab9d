"""evaluate: score a trained pipeline and the baselines on the dev mentions; JSON + markdown, printed.

Also writes candidates.json / candidates.md: recall@k of each candidate generator with the pipeline's KB."""
from pathlib import Path

import spacy
import typer

from wikiel.corpus import read_docs
from wikiel.evaluate import evaluate_candidates, evaluate_pipeline, load_pipeline, markdown_table
from wikiel.recall import recall_markdown
from wikiel.util import StepStats, atomic_open, cli_errors, write_json


def main(
    model: Path = typer.Argument(..., help="trained pipeline (training/nel/model-best)"),
    dev: Path = typer.Argument(..., help="dev mentions (.spacy)"),
    output_dir: Path = typer.Argument(..., help="where evaluation.json/.md and candidates.json/.md go"),
    seed: int = typer.Option(0),
):
    with cli_errors():
        stats = StepStats("evaluate")
        nlp = load_pipeline(model)
        dev_docs = read_docs(dev, spacy.blank(nlp.lang))
        summary = evaluate_pipeline(nlp, dev_docs, seed=seed)
        table = markdown_table(summary)
        write_json(output_dir / "evaluation.json", summary)
        with atomic_open(output_dir / "evaluation.md") as f:
            f.write(table)
        recall = evaluate_candidates(nlp, dev_docs)
        recall_table = recall_markdown(recall)
        write_json(output_dir / "candidates.json", recall)
        with atomic_open(output_dir / "candidates.md") as f:
            f.write(recall_table)
        stats["mentions"] = summary["mentions"]
        stats.write(output_dir / "stats.json")
        print(table)
        print(recall_table)


if __name__ == "__main__":
    typer.run(main)
