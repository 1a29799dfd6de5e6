"""A module's api.py imports nothing until a name is used (platform/core/interfaces.py)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import kentra.platform

API = '''
"""A test interface."""
from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    import os
    from lazypkg.heavy import Thing, other as renamed
if True:
    pass

__all__ = {exported}
__getattr__ = lazy_interface(__name__, __file__, __all__)
'''
HEAVY = """
import sys
sys.modules["lazypkg"].loaded.append("heavy")
Thing = object()
other = 42
"""


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "lazypkg"
    root.mkdir()
    (root / "__init__.py").write_text("loaded: list[str] = []\n")
    (root / "heavy.py").write_text(HEAVY)
    sys.path.insert(0, str(tmp_path))
    try:
        yield root
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == "lazypkg" or n.startswith("lazypkg.")]:
            del sys.modules[name]


def test_a_name_is_imported_from_its_module_when_first_used_and_kept(package: Path) -> None:
    (package / "api.py").write_text(API.format(exported='["Thing", "renamed"]'))
    api = importlib.import_module("lazypkg.api")
    loaded = sys.modules["lazypkg"].loaded
    assert loaded == []  # importing the interface imported nothing behind it
    thing = api.Thing
    assert loaded == ["heavy"]
    assert thing is sys.modules["lazypkg.heavy"].Thing
    assert vars(api)["Thing"] is thing  # kept: the next use does not go through __getattr__
    assert api.renamed == 42  # an alias is the exported name
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = api.missing


def test_an_interface_whose_all_and_imports_differ_does_not_load(package: Path) -> None:
    (package / "api.py").write_text(API.format(exported='["Thing", "Other"]'))
    with pytest.raises(ImportError, match=r"\['Other', 'renamed'\]"):
        importlib.import_module("lazypkg.api")


def test_every_module_interface_resolves_each_of_its_names() -> None:
    for path in sorted(Path(kentra.platform.__path__[0]).glob("*/api.py")):
        if path.parent.name == "api":  # the API kit, not a module's interface
            continue
        interface = importlib.import_module(f"kentra.platform.{path.parent.name}.api")
        for name in interface.__all__:
            assert getattr(interface, name) is not None, (path, name)


def test_the_cli_starts_without_the_api_kit() -> None:
    """Importing a module's models through another's interface loads no API schemas: the
    CLI's start (B2 times it) does not pay for flask-smorest."""
    probe = (
        "import sys, kentra.platform.municipalities.models; print('flask_smorest' in sys.modules)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "False"
