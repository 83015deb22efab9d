"""train: spacy train with the project config, KB and vectors."""
from pathlib import Path
from typing import Optional

import typer

from wikiel.training import train_pipeline
from wikiel.util import cli_errors


def main(
    config: Path = typer.Argument(..., help="training config (configs/nel.cfg)"),
    mentions_dir: Path = typer.Argument(..., help="extract-mentions output directory"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory"),
    output_dir: Path = typer.Argument(..., help="spaCy output directory (model-best, model-last)"),
    lang: str = typer.Option("en"),
    vectors: Optional[str] = typer.Option(None, help="vectors pipeline; default: the KB's floret vectors"),
    max_epochs: int = typer.Option(6, help="training epochs"),
    seed: int = typer.Option(0),
):
    with cli_errors():
        vectors = vectors or str(kb_dir / "vectors")
        stats = train_pipeline(config, output_dir, mentions_dir / "train.spacy", mentions_dir / "dev.spacy", kb_dir,
                               vectors, lang=lang,
                               overrides={"training.max_epochs": max_epochs, "system.seed": seed})
        print(f"trained in {stats['seconds']:.0f}s -> {output_dir}/model-best")


if __name__ == "__main__":
    typer.run(main)
