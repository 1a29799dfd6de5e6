"""The import structure (ADR 0030, ADR 0043). ``make lint`` checks the layers, the domain
modules' order included, with import-linter; this checks that no package-level import cycle
exists at all, whatever the contracts say."""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

from kentra.platform.compliance.models import CentreCompliance
from kentra.platform.units.operations import CENTRE_COMPLIANCE

ROOTS = ("kentra.platform", "kentra.tenants", "kentra.auth", "kentra.tasks")
PROJECT = Path(__file__).resolve().parents[1]
# The packages of platform/ that are not domain modules: the assembly and the kits.
NOT_DOMAIN_MODULES = {"app", "api", "core", "ratelimits", "web"}


def package_of(module: str) -> str:
    """``kentra.platform.<package>``'s short name, or ``tenants``/``auth``/``tasks``."""
    parts = module.split(".")
    return parts[2] if parts[1] == "platform" and len(parts) > 2 else parts[1]


def package_cycles() -> list[frozenset[str]]:
    """The strongly connected sets of packages (more than one package each)."""
    graph = grimp.build_graph(*ROOTS, cache_dir=None)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            source, target = package_of(module), package_of(imported)
            if source != target:
                edges.setdefault(source, set()).add(target)
    return cycles_of(edges)


def cycles_of(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected sets of more than one package of the graph ``edges``."""
    packages = set(edges) | {target for targets in edges.values() for target in targets}
    reaches = {package: _reachable(edges, package) for package in packages}
    cycles = {
        frozenset({package} | {other for other in reaches[package] if package in reaches[other]})
        for package in edges
        if package in reaches[package]
    }
    return sorted(cycles, key=sorted)


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(edges.get(start, ()))
    while todo:
        package = todo.pop()
        if package not in seen:
            seen.add(package)
            todo.extend(edges.get(package, ()))
    return seen


def test_no_package_cycle() -> None:
    assert package_cycles() == []


def test_units_reads_the_compliance_summary_as_compliance_defines_it() -> None:
    """units reads ``shared.centre_compliance`` through a table clause (compliance is above it
    in the module order): the clause names the model's table and a column of it."""
    assert CENTRE_COMPLIANCE.fullname == CentreCompliance.__table__.fullname
    column = CentreCompliance.__table__.c.municipality_code
    assert type(CENTRE_COMPLIANCE.c.municipality_code.type) is type(column.type)


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _reachable(edges, "a") == {"a", "b", "c"}
    assert "d" not in _reachable(edges, "a")


def test_the_cycles_of_a_graph_are_its_strongly_connected_packages() -> None:
    edges = {"a": {"b"}, "b": {"a", "c"}, "c": set(), "d": {"a", "e"}, "e": {"d"}}
    assert cycles_of(edges) == [frozenset({"a", "b"}), frozenset({"d", "e"})]
    assert cycles_of({"a": {"b"}, "b": {"c"}}) == []


def test_every_domain_module_has_a_public_interface_and_a_contract_guarding_the_rest() -> None:
    """A new module gets its api.py and its `protected` contract (ADR 0043), or this fails."""
    modules = {
        path.parent.name
        for path in (PROJECT / "platform").glob("*/__init__.py")
        if path.parent.name not in NOT_DOMAIN_MODULES
    }
    contracts = tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    guarded = {
        tuple(contract["protected_modules"]): contract["allowed_importers"]
        for contract in contracts
        if contract["type"] == "protected"
    }
    assert "units" in modules
    for module in sorted(modules):
        assert (PROJECT / "platform" / module / "api.py").is_file(), module
        assert guarded.get((f"kentra.platform.{module}.*",)) == [
            f"kentra.platform.{module}",
            "kentra.platform.app",
        ], module
