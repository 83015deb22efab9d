"""Build hook for the optional compiled wikitext passes (everything else is in pyproject.toml).

`wikiel.sources._wikitext` is C with the Python C API only (no Cython, no private CPython API). It is optional:
without a C compiler the build warns and the package installs without it, and `wikiel.sources.wikitext` runs
its Python passes, which give the same outputs (tests/test_wikitext_compiled.py checks both agree)."""

from pathlib import Path

from setuptools import Extension, setup

SOURCES = sorted(str(path) for path in Path("scripts/wikiel/sources/_wikitext").glob("*.c"))

setup(
    ext_modules=[
        Extension(
            "wikiel.sources._wikitext",
            sources=SOURCES,
            depends=sorted(str(path) for path in Path("scripts/wikiel/sources/_wikitext").glob("*.h")),
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
