"""build-kb: prune entities and aliases, train description vectors, write the spaCy KB."""
from pathlib import Path
from typing import Optional

import typer

from wikiel.kb import PruneSettings, build_kb
from wikiel.util import cli_errors, require_spacy_lang


def main(
    wikidata_dir: Path = typer.Argument(..., help="parse-wikidata output directory"),
    wikipedia_dir: Path = typer.Argument(..., help="parse-wikipedia output directory"),
    output_dir: Path = typer.Argument(..., help="where kb/, vectors/, entities.jsonl and stats.json go"),
    lang: str = typer.Option("en", help="language of the pipeline"),
    min_freq: int = typer.Option(20, help="minimum incoming links of an entity"),
    min_pair: int = typer.Option(5, help="minimum count of an anchor-entity pair"),
    max_per_alias: int = typer.Option(10, help="maximum candidates per alias"),
    max_entities: int = typer.Option(1_000_000, help="keep at most this many entities, most linked first"),
    max_aliases: int = typer.Option(1_500_000, help="keep at most this many aliases, most frequent first"),
    vectors: Optional[str] = typer.Option(None, help="a spaCy pipeline with vectors (e.g. en_core_web_lg); "
                                          "default: floret vectors trained on the dump's article text"),
    vector_dim: int = typer.Option(64, help="dimension of the floret vectors (entity vector length)"),
    vector_epochs: int = typer.Option(5, help="floret training epochs"),
    max_vector_text_mb: int = typer.Option(100, help="article text used to train the vectors, in MB "
                                           "(floret trains at ~0.5 MB/s per epoch and thread)"),
    vector_threads: int = typer.Option(1, help="floret threads; more than 1 is faster but not deterministic"),
    seed: int = typer.Option(0),
    extra_entities: str = typer.Option("", "--extra-entities", help="custom entities (JSONL, see "
                                                  "wikiel/custom.py) added on top of the pruned KB, never pruned"),
):
    with cli_errors():
        require_spacy_lang(lang)
        settings = PruneSettings(min_freq, min_pair, max_per_alias, max_entities, max_aliases)
        stats = build_kb(wikidata_dir, wikipedia_dir, output_dir, settings, lang=lang, vectors=vectors or None,
                         vector_dim=vector_dim, vector_epochs=vector_epochs, max_vector_text_mb=max_vector_text_mb,
                         vector_threads=vector_threads, seed=seed,
                         extra_entities=Path(extra_entities) if extra_entities else None)
        c = stats["counts"]
        print(f"KB: {c['entities']} entities, {c['aliases']} aliases, {c['pairs']} pairs, "
              f"{c['kb_bytes'] / 1e6:.1f} MB on disk -> {output_dir}")


if __name__ == "__main__":
    typer.run(main)
