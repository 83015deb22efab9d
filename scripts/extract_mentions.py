"""extract-mentions: train/dev mention examples (.spacy) from article links to KB entities."""
from pathlib import Path

import typer

from wikiel.corpus import extract_mentions
from wikiel.util import cli_errors, require_spacy_lang


def main(
    wikipedia_dir: Path = typer.Argument(..., help="parse-wikipedia output directory (articles.jsonl, redirects.tsv)"),
    kb_dir: Path = typer.Argument(..., help="build-kb output directory"),
    output_dir: Path = typer.Argument(..., help="where train.spacy, dev.spacy and stats.json go"),
    lang: str = typer.Option("en"),
    max_train: int = typer.Option(200_000, help="maximum training mentions"),
    max_dev: int = typer.Option(10_000, help="maximum dev mentions"),
):
    with cli_errors():
        require_spacy_lang(lang)
        stats = extract_mentions(wikipedia_dir / "articles.jsonl", kb_dir, wikipedia_dir, output_dir, lang=lang,
                                 max_train=max_train, max_dev=max_dev)
        c = stats["counts"]
        print(f"mentions: train {c['train']['mentions']}, dev {c['dev']['mentions']} -> {output_dir}")


if __name__ == "__main__":
    typer.run(main)
