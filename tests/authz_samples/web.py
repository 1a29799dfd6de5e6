"""Samples of the shared web routes: the stylesheet, the language switch and the API docs'
files."""

from __future__ import annotations

from sqlalchemy import Engine


def prepare(_engine: Engine, _unit_ids: dict[str, int]) -> dict[str, str]:
    # package, file_name: a file of the API docs' viewers (make docs-assets installs them).
    return {
        "filename": "kentra.css",
        "language": "en",
        "package": "redoc",
        "file_name": "redoc.standalone.js",
        # a component of the pages (make web-assets installs it)
        "vendor_file": "tom-select.js",
    }


def cleanup(_engine: Engine) -> None:
    """Nothing was created."""
