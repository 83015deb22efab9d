"""fetch: download or locate the Wikidata and Wikipedia dumps (or a custom KB) and write OUTPUT_DIR/manifest.json."""
from pathlib import Path

import typer

from wikiel import fetch
from wikiel.util import cli_errors, fail

app = typer.Typer(add_completion=False)


@app.command()
def main(
    output_dir: Path = typer.Argument(..., help="Directory for manifest.json (and dumps/ or world/)"),
    source: str = typer.Option("dumps", "--source", help="dumps (download), excerpts (../shared/data) or world"),
    lang: str = typer.Option("en", "--lang", help="Wikipedia language"),
    dump_date: str = typer.Option("latest", "--dump-date", help="'latest' or a dump date such as 20240101"),
    wikidata_format: str = typer.Option("gz", "--wikidata-format", help="gz or bz2"),
    verify: bool = typer.Option(False, "--verify", help="Check the dumps against the published checksums (slow)"),
    world_entities: int = typer.Option(8000, "--world-entities", min=1, help="Entities of the synthetic world"),
    world_articles: int = typer.Option(1500, "--world-articles", min=1, help="Articles of the synthetic world"),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic world"),
    world_zipf: float = typer.Option(0.85, "--world-zipf", min=0.0, help="Popularity exponent of the synthetic world (lower = links spread over more entities)"),
    excerpts_dir: Path = typer.Option(fetch.EXCERPTS_DIR, "--excerpts-dir", help="Where the real excerpts are"),
    kb: str = typer.Option("wikidata", "--kb", help="wikidata (the dumps of --source) or custom (your own "
                           "knowledge graph: --custom-entities, --custom-mentions, --custom-priors)"),
    custom_entities: str = typer.Option("", "--custom-entities", help="With --kb custom: entities JSONL"),
    custom_mentions: str = typer.Option("", "--custom-mentions", help="With --kb custom: annotated mentions "
                                        "(JSONL or .spacy file, or a directory of them)"),
    custom_priors: str = typer.Option("", "--custom-priors", help="With --kb custom: optional alias priors "
                                      "(TSV alias, id, count or JSONL); empty = none"),
) -> None:
    """Write a manifest of the input files; with --source dumps, download the real dumps first."""
    with cli_errors():
        if kb not in fetch.KBS:
            fail(f"--kb must be one of {', '.join(fetch.KBS)}, not {kb!r}")
        if kb == "custom":
            if not custom_entities.strip() or not custom_mentions.strip():
                fail("--kb custom needs --custom-entities and --custom-mentions (vars.custom_entities, "
                     "vars.custom_mentions)")
            manifest = fetch.use_custom(output_dir, lang, Path(custom_entities), Path(custom_mentions),
                                        Path(custom_priors) if custom_priors.strip() else None)
            n_bytes = sum(e["bytes"] for e in [manifest["entities"], *manifest["mentions"], manifest["priors"]] if e)
            print(f"custom: {manifest['entities']['path']} and {len(manifest['mentions'])} mention file(s), "
                  f"{n_bytes:,} bytes -> {output_dir / fetch.MANIFEST_FILE}")
            return
        if source not in fetch.SOURCES:
            fail(f"--source must be one of {', '.join(fetch.SOURCES)}, not {source!r}")
        if wikidata_format not in fetch.WIKIDATA_FORMATS:
            fail(f"--wikidata-format must be one of {', '.join(fetch.WIKIDATA_FORMATS)}, not {wikidata_format!r}")
        if source == "dumps":
            manifest = fetch.fetch_dumps(output_dir, lang, dump_date, wikidata_format, verify_checksums=verify)
        elif source == "excerpts":
            manifest = fetch.use_excerpts(output_dir, lang, excerpts_dir)
        else:
            manifest = fetch.use_world(output_dir, lang, world_entities, world_articles, seed, world_zipf)
        n_bytes = sum(e["bytes"] for e in manifest["wikidata"]) + manifest["wikipedia"]["bytes"]
        print(f"{source}: {len(manifest['wikidata'])} Wikidata file(s), {n_bytes:,} bytes -> "
              f"{output_dir / fetch.MANIFEST_FILE}")


if __name__ == "__main__":
    app()
