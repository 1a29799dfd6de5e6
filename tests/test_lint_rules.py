"""Project lint rules that guard the dangerous constructs, each checked here with its own test.

- Only ``tenants/`` may touch ``search_path`` or ``schema_translate_map``.
- No ``commit()`` outside the transaction boundaries (request, task, CLI services in tenants/).
- No SQL built from strings: ``text()`` only takes a literal.
- No ``backref=`` (relationships are declared on both sides, explicitly).
- No module named like a standard-library module at the top of ``platform/`` (no __init__.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from tests.conftest import ROOT

PRODUCT_DIRS = ("platform", "tenants", "tasks", "auth")
BOUNDARY_FILES = frozenset({"platform/core/database.py"})


def product_files() -> Iterator[tuple[str, str]]:
    for directory in PRODUCT_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text()


def schema_binding_outside_tenants(files: Iterator[tuple[str, str]]) -> list[str]:
    pattern = re.compile(r"search_path|schema_translate_map")
    return [
        f"{name}:{n}"
        for name, source in files
        if not name.startswith("tenants/")
        for n, line in enumerate(source.splitlines(), 1)
        if pattern.search(line.split("#")[0])
    ]


def walked(
    files: Iterator[tuple[str, str]], skip: frozenset[str] = frozenset()
) -> Iterator[tuple[str, ast.AST]]:
    """Every node of every file's syntax tree, with the file's name (``skip``: files passed over)."""
    for name, source in files:
        if name not in skip:
            for node in ast.walk(ast.parse(source)):
                yield name, node


def commits_outside_boundaries(files: Iterator[tuple[str, str]]) -> list[str]:
    return [
        f"{name}:{node.lineno}"
        for name, node in walked(files, skip=BOUNDARY_FILES)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def sql_built_from_strings(files: Iterator[tuple[str, str]]) -> list[str]:
    return [
        f"{name}:{node.lineno}"
        for name, node in walked(files)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name | ast.Attribute)
        and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "text"
        and node.args
        and not isinstance(node.args[0], ast.Constant)
    ]


def backrefs(files: Iterator[tuple[str, str]]) -> list[str]:
    return [
        f"{name}:{node.value.lineno}"
        for name, node in walked(files)
        if isinstance(node, ast.keyword) and node.arg == "backref"
    ]


# --- the rules hold for the product ------------------------------------------------------------


def test_only_tenants_binds_schemas() -> None:
    assert schema_binding_outside_tenants(product_files()) == []


def test_no_commit_outside_the_boundaries() -> None:
    assert commits_outside_boundaries(product_files()) == []


def test_no_sql_built_from_strings() -> None:
    assert sql_built_from_strings(product_files()) == []


def test_no_backref() -> None:
    assert backrefs(product_files()) == []


def test_platform_is_a_namespace_portion() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()
    assert not list((ROOT / "platform").glob("*.py"))


# --- the rules catch what they are meant to catch ----------------------------------------------


def test_rules_catch_violations() -> None:
    bad = [
        ("platform/x/views.py", 'conn.execute(text("SET search_path TO m_4501"))\n'),
        ("platform/x/ops.py", "session.commit()\n"),
        ("platform/x/q.py", 'text(f"SELECT * FROM {table}")\ntext("SELECT " + column)\n'),
        ("platform/x/models.py", 'relationship("A", backref="b")\n'),
    ]
    assert schema_binding_outside_tenants(iter(bad)) == ["platform/x/views.py:1"]
    assert commits_outside_boundaries(iter(bad)) == ["platform/x/ops.py:1"]
    assert sql_built_from_strings(iter(bad)) == ["platform/x/q.py:1", "platform/x/q.py:2"]
    assert backrefs(iter(bad)) == ["platform/x/models.py:1"]
    allowed = [("tenants/binding.py", 'select(func.set_config("search_path", s, True))\n')]
    assert schema_binding_outside_tenants(iter(allowed)) == []
