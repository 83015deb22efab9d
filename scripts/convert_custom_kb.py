"""convert-custom-kb: your own knowledge graph -> the parse steps' files under OUTPUT_CORPUS_DIR/wikidata and
OUTPUT_CORPUS_DIR/wikipedia, ready for build_kb.py (formats: scripts/wikiel/custom.py)."""
from pathlib import Path
from typing import Optional

import typer

from wikiel.custom import convert_custom
from wikiel.util import cli_errors


def main(
    entities: Path = typer.Argument(..., help="entities JSONL: {id, name, aliases, description, types, frequency}"),
    mentions: Path = typer.Argument(..., help="annotated mentions: JSONL {id, text, spans, split} or .spacy file, "
                                              "or a directory of them"),
    output_corpus_dir: Path = typer.Argument(..., help="e.g. corpus: wikidata/ and wikipedia/ are written in it"),
    priors: Optional[Path] = typer.Option(None, help="alias priors: TSV alias<TAB>id<TAB>count, or JSONL"),
    dev_percent: float = typer.Option(10, min=0, max=100, help="share of documents without a split put in dev"),
    seed: int = typer.Option(0, help="salt of the dev split hash (0: the hash of the document id alone)"),
    lang: str = typer.Option("en", help="language of the texts (recorded in siteinfo.json)"),
    strict: bool = typer.Option(False, help="a span or prior id missing from the entity file is an error"),
):
    with cli_errors():
        stats = convert_custom(entities, mentions, output_corpus_dir, priors, dev_percent, seed, lang, strict)
        e, m = stats["wikidata"]["counts"], stats["wikipedia"]["counts"]
        print(f"custom KB: {e['entities']:,} entities; {m['articles']:,} documents ({m['train_articles']:,} train, "
              f"{m['dev_articles']:,} dev), {m['links']:,} spans, {m['unknown_id_spans']:,} to unknown ids "
              f"-> {output_corpus_dir}")


if __name__ == "__main__":
    typer.run(main)
