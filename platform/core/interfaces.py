"""A module's public interface (its ``api.py``, ADR 0043) that imports nothing until a name
is used.

An ``api.py`` lists what other modules may import in an ``if TYPE_CHECKING:`` block of
``from <its own module> import …`` lines (what type checkers, import-linter and readers see)
and in ``__all__``; at run time ``__getattr__ = lazy_interface(__name__, __file__, __all__)``
imports a name's own module the first time it is asked for. Eager re-exports made every
import of one name load the whole module (its access, operations and schemas, and the
modules those import): a table's model pulled in the API kit, and `kentra` started 0.9 s
slower.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def _type_checking_imports(source: str) -> dict[str, tuple[str, str]]:
    """Name -> (module, its name there) of the ``from … import …`` lines under
    ``if TYPE_CHECKING:``."""
    found: dict[str, tuple[str, str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.module:
                    for alias in statement.names:
                        found[alias.asname or alias.name] = (statement.module, alias.name)
    return found


def lazy_interface(module_name: str, file: str, exported: Sequence[str]) -> Callable[[str], Any]:
    """The ``__getattr__`` of the interface module ``module_name`` (its source ``file``):
    each name of ``exported`` from the module its ``TYPE_CHECKING`` import names, imported
    on first use and kept. A name exported without an import, or imported without being
    exported, is an error as the interface loads."""
    sources = _type_checking_imports(Path(file).read_text(encoding="utf-8"))
    if set(sources) != set(exported):
        raise ImportError(
            f"{module_name}: __all__ and its TYPE_CHECKING imports differ: "
            f"{sorted(set(sources) ^ set(exported))}"
        )
    namespace = importlib.import_module(module_name).__dict__

    def __getattr__(name: str) -> Any:  # noqa: N807 - a module's __getattr__ (PEP 562)
        if name not in sources:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        module, original = sources[name]
        value = getattr(importlib.import_module(module), original)
        namespace[name] = value  # asked once
        return value

    return __getattr__
