"""update-kb: replace the KB of a trained linker by a rebuilt one (same vectors), without retraining."""
from pathlib import Path

import typer

from wikiel.update import update_kb
from wikiel.util import cli_errors


def main(
    model: Path = typer.Argument(..., help="trained pipeline (training/nel/model-best)"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory with the new KB"),
    output_dir: Path = typer.Argument(..., help="where the updated pipeline goes"),
):
    with cli_errors():
        c = update_kb(model, kb_dir, output_dir)["counts"]
        print(f"KB {c['before']['entities']:,} -> {c['after']['entities']:,} entities (+{c['entities_added']:,} "
              f"-{c['entities_removed']:,}), {c['before']['aliases']:,} -> {c['after']['aliases']:,} aliases "
              f"-> {output_dir}")


if __name__ == "__main__":
    typer.run(main)
