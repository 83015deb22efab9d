"""build-linker: add mention detection to the trained linker, tune its thresholds on dev articles."""
from pathlib import Path

import typer

from wikiel.detection import build_linker
from wikiel.util import cli_errors


def main(
    model: Path = typer.Argument(..., help="trained pipeline (training/nel/model-best)"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory (entities.jsonl)"),
    wikipedia_dir: Path = typer.Argument(..., help="parse-wikipedia output directory (articles.jsonl, redirects.tsv)"),
    output_dir: Path = typer.Argument(..., help="where model/, detection.md and stats.json go"),
    max_text_mb: int = typer.Option(50, "--max-text-mb", min=1, help="train article text to count link probabilities on"),
    max_dev_articles: int = typer.Option(300, "--max-dev-articles", min=1, help="dev articles to tune the thresholds on"),
):
    with cli_errors():
        stats = build_linker(model, kb_dir, wikipedia_dir, output_dir, max_text_mb=max_text_mb,
                             max_dev_articles=max_dev_articles)
        c = stats["counts"]
        det, e2e = c["detection"], c["end_to_end"]
        print(f"mention detection: threshold {c['detection_threshold']}, P {det['precision']:.3f} "
              f"R {det['recall']:.3f} F1 {det['f1']:.3f}; end to end: NIL threshold {c['nil_threshold']}, "
              f"P {e2e['precision']:.3f} R {e2e['recall']:.3f} F1 {e2e['f1']:.3f} -> {output_dir / 'model'}")


if __name__ == "__main__":
    typer.run(main)
