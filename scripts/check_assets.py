"""check: validate every input dump of the fetch manifest before the long run starts."""
import sys
from pathlib import Path
from typing import Optional

import typer

from wikiel.check import check_assets, missing_manifest
from wikiel.util import cli_errors, fail

app = typer.Typer(add_completion=False)


@app.command()
def main(
    manifest: Path = typer.Argument(..., help="Manifest written by fetch_dumps.py (assets/manifest.json)"),
    lang: Optional[str] = typer.Option(None, "--lang", help="The workflow's vars.lang: the manifest must be of it"),
    dump_date: Optional[str] = typer.Option(None, "--dump-date", help="The workflow's vars.dump_date"),
    wikidata_format: str = typer.Option("gz", "--wikidata-format", help="gz or bz2 (names the files to fetch)"),
) -> None:
    """Print one line per asset (OK, or the problem and what to do); exit non-zero on any problem."""
    with cli_errors():
        if not manifest.exists():
            raise missing_manifest(manifest, lang or "en", dump_date or "latest", wikidata_format)
        results = check_assets(manifest, lang, dump_date)
        for result in results:
            if result.problem is None:
                print(f"OK: {result.key}: {result.path}: {result.summary}")
            else:
                print(f"ERROR: {result.key}: {result.problem}", file=sys.stderr)
        problems = sum(result.problem is not None for result in results)
        if problems:
            fail(f"{problems} problem(s) with the assets of {manifest}: fix them before running the workflow")


if __name__ == "__main__":
    app()
