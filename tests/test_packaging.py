"""The distribution's import names and command lines, run from the repository root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_platform_does_not_shadow_the_standard_library() -> None:
    # With the repo root on sys.path (python -c puts the cwd first), `platform/` must not
    # hide the stdlib module that uuid imports.
    result = run(
        sys.executable, "-c", "import uuid, kentra.platform, platform; print(platform.system())"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Linux"


def test_flask_command_line_loads_the_app() -> None:
    result = run(
        sys.executable, "-m", "flask", "--app", "kentra.platform.app.factory:create_app", "routes"
    )
    assert result.returncode == 0, result.stderr
    assert "/api/v1/reference/municipalities" in result.stdout
    assert "/api/v1/municipalities/<municipality_code>" in result.stdout
    assert "/readyz" in result.stdout


def test_celery_command_line_loads_the_app() -> None:
    result = run(sys.executable, "-m", "celery", "-A", "kentra.tasks", "report")
    assert result.returncode == 0, result.stderr
    assert "kentra" in result.stdout
    # The tasks of the app are registered (the proof task among them).
    listing = run(
        sys.executable,
        "-c",
        "from kentra.tasks import app; app.loader.import_default_modules(); "
        "print(sorted(t for t in app.tasks if t.startswith('kentra.')))",
    )
    assert "kentra.describe_tenant" in listing.stdout, listing.stderr


def test_console_script_lists_its_commands() -> None:
    result = run(str(ROOT / ".venv" / "bin" / "kentra"), "--help")
    if result.returncode != 0:  # installed elsewhere (e.g. a wheel in another venv)
        result = run(sys.executable, "-m", "kentra.platform.app.cli", "--help")
    assert result.returncode == 0, result.stderr
    for command in ("tenants", "db", "run"):
        assert command in result.stdout


def test_the_wheel_holds_every_package_and_its_files(tmp_path: Path) -> None:
    """No package list to forget a line of (setup.py finds them): the built wheel holds every
    folder with an __init__.py under the mapped roots, and every template, static file,
    reference data file and translation beside them."""
    result = subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"),
            *("--wheel-dir", str(tmp_path)),
            str(ROOT),
        ],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' scratch folder
    (wheel,) = tmp_path.glob("kentra-*.whl")
    held = set(zipfile.ZipFile(wheel).namelist())
    roots = {"platform": "kentra/platform", "tenants": "kentra/tenants", "tasks": "kentra/tasks"}
    roots |= {"auth": "kentra/auth", "migrations": "kentra/migrations"}
    expected = set()
    for folder, prefix in roots.items():
        for path in (ROOT / folder).rglob("*"):
            relative = path.relative_to(ROOT / folder).as_posix()
            # npm's folders are installed beside the code by make targets, not shipped in the
            # wheel (ADR 0037, 0042).
            if "__pycache__" in relative or "node_modules" in path.parts or not path.is_file():
                continue
            packaged = path.suffix == ".py" and (path.parent / "__init__.py").exists()
            data = path.suffix in {".html", ".csv", ".css", ".po", ".mo", ".mako"} or (
                "static" in path.parts
            )
            if packaged or data:
                expected.add(f"{prefix}/{relative}")
    assert expected - held == set()
    assert "kentra/platform/app/factory.py" in held
    assert "kentra/platform/web/translations/en/LC_MESSAGES/messages.mo" in held
