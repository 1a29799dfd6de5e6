"""The dependency lock (requirements/*.txt) agrees with pyproject.toml and with what is installed."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

LOCK_DIR = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\$")
HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}( \\)?$")


def load_lock_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kentra_lock", ROOT / "infra/dev/lock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pins(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Canonical name -> (version, hashes); fails on any requirement line that is not pinned."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    current: str | None = None
    for line in (LOCK_DIR / name).read_text(encoding="utf-8").splitlines():
        if not line or line.lstrip().startswith("#"):
            current = None
            continue
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            found[current] = (match[2], frozenset())
        elif HASH.match(line) and current is not None:
            version, hashes = found[current]
            found[current] = (version, hashes | {line.split("=", 1)[1].removesuffix(" \\")})
        else:
            pytest.fail(f"{name}: not an exact pin with hashes: {line!r}")
    return found


def pyproject_requirements(*extras: str) -> list[Requirement]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    texts = list(data["project"]["dependencies"]) + list(data["build-system"]["requires"])
    for extra in extras:
        texts += data["project"]["optional-dependencies"][extra]
    return [Requirement(t) for t in texts]


def test_the_locks_were_compiled_from_pyprojects_requirements() -> None:
    assert load_lock_tool().check(ROOT / "pyproject.toml", LOCK_DIR) == []


@pytest.mark.parametrize(("name", "extras"), [("lock.txt", ()), ("dev-lock.txt", ("dev",))])
def test_every_requirement_is_satisfied_by_a_pin_with_hashes(
    name: str, extras: tuple[str, ...]
) -> None:
    locked = pins(name)
    assert all(hashes for _, hashes in locked.values())
    for requirement in pyproject_requirements(*extras):
        key = canonicalize_name(requirement.name)
        assert key in locked, f"{requirement} is not in {name}: run `make lock`"
        version = locked[key][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name} pins {key}=={version}, outside {requirement}: run `make lock`"
        )
        # An extra's own requirements (psycopg[binary] -> psycopg-binary) are pinned too.
        for extra in requirement.extras:
            for dependency in map(Requirement, importlib.metadata.requires(key) or []):
                if dependency.marker and dependency.marker.evaluate({"extra": extra}):
                    assert canonicalize_name(dependency.name) in locked, (
                        f"{dependency} ({requirement}) is not in {name}"
                    )


def test_the_dev_lock_keeps_every_runtime_pin() -> None:
    runtime, dev = pins("lock.txt"), pins("dev-lock.txt")
    assert {k: dev.get(k) for k in runtime} == runtime


def test_installed_distributions_are_the_locked_versions() -> None:
    # `make install` installs nothing else; a stale virtualenv shows here.
    for key, (version, _) in pins("dev-lock.txt").items():
        try:
            installed = importlib.metadata.version(key)
        except importlib.metadata.PackageNotFoundError:
            continue  # locked for Python < 3.11.3 only (async-timeout), not installed here
        assert installed == version, f"{key} {installed} installed, {version} locked"


def test_a_dependency_added_without_relocking_fails_loudly(tmp_path: Path) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    changed = pyproject.replace('"pypdf>=5.1",', '"pypdf>=5.1",\n    "left-pad>=1.0",', 1)
    assert changed != pyproject
    (tmp_path / "pyproject.toml").write_text(changed, encoding="utf-8")
    check = [sys.executable, str(ROOT / "infra/dev/lock.py"), "check"]
    result = subprocess.run(
        [*check, "--pyproject", str(tmp_path / "pyproject.toml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "requirements/lock.txt" in result.stderr
    assert "requirements/dev-lock.txt" in result.stderr
    assert "not locked: left-pad>=1.0" in result.stderr
    assert "make lock" in result.stderr
