"""The import structure (ADR 0030). ``make lint`` checks the layers with import-linter; this
checks that no package-level import cycle exists beyond the one issue 12 is dissolving, so no
new module joins it while it is taken apart."""

from __future__ import annotations

import grimp

ROOTS = ("kentra.platform", "kentra.tenants", "kentra.auth", "kentra.tasks")
# The domain modules that still import each other in a cycle (issue 12: public interfaces and
# explicit events take it apart). It may only shrink.
KNOWN_CYCLE = frozenset(
    {
        "compliance",
        "municipalities",
        "onboarding",
        "policy",
        "reference",
        "regulations",
        "service_area",
        "staff",
        "supervision",
        "units",
    }
)


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


def test_no_package_cycle_beyond_the_known_one() -> None:
    cycles = package_cycles()
    assert all(cycle <= KNOWN_CYCLE for cycle in cycles), cycles
    assert len(cycles) <= 1, cycles


def test_the_cycle_finder_finds_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _reachable(edges, "a") == {"a", "b", "c"}
    assert "d" not in _reachable(edges, "a")
