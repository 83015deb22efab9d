"""learning-curve: dev accuracy vs number of training mentions; PNG, JSON and markdown."""
from pathlib import Path
from typing import Optional

import typer

from wikiel.curve import DEFAULT_SIZES, learning_curve
from wikiel.util import cli_errors


def main(
    config: Path = typer.Argument(..., help="training config (configs/nel.cfg)"),
    mentions_dir: Path = typer.Argument(..., help="extract-mentions output directory"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory"),
    output_dir: Path = typer.Argument(..., help="where curve.png, curve.json and curve.md go"),
    lang: str = typer.Option("en"),
    vectors: Optional[str] = typer.Option(None, help="vectors pipeline; default: the KB's floret vectors"),
    sizes: str = typer.Option(",".join(map(str, DEFAULT_SIZES)), help="comma-separated numbers of mentions"),
    epochs: int = typer.Option(4, help="training epochs per point"),
    seed: int = typer.Option(0),
):
    with cli_errors():
        output_dir.mkdir(parents=True, exist_ok=True)
        learning_curve(config, mentions_dir / "train.spacy", mentions_dir / "dev.spacy", kb_dir,
                       vectors or str(kb_dir / "vectors"), output_dir,
                       sizes=[int(s) for s in sizes.split(",") if s.strip()], lang=lang, epochs=epochs, seed=seed)
        print((output_dir / "curve.md").read_text())


if __name__ == "__main__":
    typer.run(main)
