"""link: write the entities (QID, type, score, offsets) of every document of a text or JSONL file as JSONL."""
from pathlib import Path

import typer

from wikiel.link import link_file, load_linker
from wikiel.util import cli_errors, fail


def main(
    pipeline: str = typer.Argument(..., help="pipeline directory (training/linker/model) or installed package name"),
    input_path: Path = typer.Argument(..., help=".jsonl with a \"text\" (and optional \"id\") per line, or plain text: one document per line"),
    output_path: Path = typer.Argument(..., help="output JSONL"),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    keep_nil: bool = typer.Option(False, "--keep-nil", help="also write mentions the linker left NIL (qid null)"),
):
    with cli_errors():
        if input_path.resolve() == output_path.resolve():
            fail(f"{output_path}: the output would overwrite the input")
        counts = link_file(load_linker(pipeline), input_path, output_path, batch_size=batch_size, keep_nil=keep_nil)
        print(f"{counts['documents']} documents, {counts['entities']} entities -> {output_path}")


if __name__ == "__main__":
    typer.run(main)
