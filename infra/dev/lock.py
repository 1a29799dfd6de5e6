"""The Python dependency lock: `make lock` compiles it, `make install` checks it first.

requirements/lock.txt        runtime dependencies (what production installs)
requirements/dev-lock.txt    the same pins plus the dev extra (what `make install` installs)

Both also pin pip and the build backend (pyproject's [build-system] requires), so the project
itself installs with `--no-deps --no-build-isolation` and nothing unhashed is fetched. Each file
records the requirements it was compiled from; `check` compares them with pyproject.toml so a
dependency added without re-locking fails loudly instead of being skipped by `--no-deps`.

Standard library only: `check` runs with the system Python before the virtualenv exists.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The locking tool, from PyPI, pinned: bump it here and run `make lock`.
UV_VERSION = "0.13.8"
# The only target: CPython 3.11 on Linux x86-64 (uv resolves markers for it).
PYTHON_VERSION = "3.11"
PYTHON_PLATFORM = "x86_64-unknown-linux-gnu"
INPUT_PREFIX = "#   input: "

LOCKS = {
    # file name -> pyproject extras it covers
    "lock.txt": (),
    "dev-lock.txt": ("dev",),
}


def _normalized(requirements: list[str]) -> list[str]:
    return sorted({" ".join(r.split()) for r in requirements}, key=str.lower)


def build_inputs(pyproject: Path) -> list[str]:
    """pip and the build backend: not in [project], locked all the same."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return _normalized([*data.get("build-system", {}).get("requires", []), "pip"])


def inputs(pyproject: Path, extras: tuple[str, ...]) -> list[str]:
    """The requirements a lock is compiled from, as written in pyproject.toml."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    wanted = list(project.get("dependencies", []))
    for extra in extras:
        wanted += project.get("optional-dependencies", {}).get(extra, [])
    return _normalized(wanted + build_inputs(pyproject))


def recorded_inputs(lock: Path) -> list[str]:
    lines = lock.read_text(encoding="utf-8").splitlines()
    return [line.removeprefix(INPUT_PREFIX) for line in lines if line.startswith(INPUT_PREFIX)]


def header(lock_name: str, extras: tuple[str, ...], wanted: list[str]) -> str:
    covers = "runtime dependencies" + "".join(f" and the {e} extra" for e in extras)
    installed_by = "`make install`" if extras else "Production (`make install`: dev-lock.txt)"
    lines = [
        f"# Kentra's {covers}, exact versions with hashes,",
        f"# for CPython {PYTHON_VERSION} on Linux x86-64. Made by `make lock` (infra/dev/lock.py),",
        f"# uv {UV_VERSION} from PyPI: uv pip compile --generate-hashes",
        f"#   --python-version {PYTHON_VERSION} --python-platform {PYTHON_PLATFORM}",
        "# Do not edit: change pyproject.toml, then run `make lock` (`make lock UPGRADE=1` moves",
        "# every pin to its newest allowed version) and commit requirements/.",
        f"# {installed_by} installs it with `pip install --require-hashes -r`, then",
        "# the project with `pip install --no-deps --no-build-isolation`.",
        "# Compiled from (compared with pyproject.toml by `make install` and tests/test_lock.py):",
        *(INPUT_PREFIX + r for r in wanted),
    ]
    return "\n".join(lines) + "\n"


def check(pyproject: Path, lock_dir: Path) -> list[str]:
    """What disagrees between pyproject.toml and the locks (empty when they agree)."""
    problems = []
    for name, extras in LOCKS.items():
        lock = lock_dir / name
        if not lock.exists():
            problems.append(f"{lock} is missing")
            continue
        wanted, recorded = set(inputs(pyproject, extras)), set(recorded_inputs(lock))
        added, removed = sorted(wanted - recorded), sorted(recorded - wanted)
        if added or removed:
            problems.append(
                f"{lock_dir.name}/{name} was locked from other requirements than pyproject.toml's"
                + (f"; not locked: {', '.join(added)}" if added else "")
                + (f"; no longer in pyproject.toml: {', '.join(removed)}" if removed else "")
            )
    return problems


def uv_binary() -> Path:
    """uv in its own virtualenv under var/tools/ (not .venv: the tool is not a dependency)."""
    env_dir = ROOT / "var" / "tools" / f"uv-{UV_VERSION}"
    uv = env_dir / "bin" / "uv"
    if not uv.exists():
        venv.create(env_dir, with_pip=True)
        subprocess.run(  # noqa: S603 - fixed argv, no shell
            [env_dir / "bin" / "python", "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"],
            check=True,
        )
    return uv


def compile_locks(*, upgrade: bool) -> None:
    uv = uv_binary()
    pyproject = ROOT / "pyproject.toml"
    lock_dir = ROOT / "requirements"
    lock_dir.mkdir(exist_ok=True)
    # uv takes pip and the build backend from a small generated input file.
    build_in = ROOT / "var" / "lock" / "build.in"
    build_in.parent.mkdir(parents=True, exist_ok=True)
    build_in.write_text("\n".join(build_inputs(pyproject)) + "\n", encoding="utf-8")
    # Runtime first; the dev lock is constrained to its pins so both agree on every version.
    for name, extras in LOCKS.items():
        out = lock_dir / name
        argv: list[str | Path] = [
            uv, "pip", "compile", "--quiet", "--generate-hashes", "--no-header",
            "--python-version", PYTHON_VERSION, "--python-platform", PYTHON_PLATFORM,
            "pyproject.toml", build_in.relative_to(ROOT), "-o", out.relative_to(ROOT),
        ]  # fmt: skip
        argv += [a for e in extras for a in ("--extra", e)]
        if extras:
            argv += ["-c", (lock_dir / "lock.txt").relative_to(ROOT)]
        if upgrade:
            argv.append("--upgrade")  # otherwise uv keeps the pins already in `out`
        subprocess.run(argv, cwd=ROOT, check=True)  # noqa: S603 - fixed argv, no shell
        body = out.read_text(encoding="utf-8")
        out.write_text(header(name, extras, inputs(pyproject, extras)) + body, encoding="utf-8")
        sys.stdout.write(f"wrote {out.relative_to(ROOT)}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    compile_cmd = sub.add_parser("compile", help="re-lock requirements/ from pyproject.toml")
    compile_cmd.add_argument("--upgrade", action="store_true", help="allow newer versions")
    check_cmd = sub.add_parser("check", help="fail when pyproject.toml and the locks disagree")
    check_cmd.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    check_cmd.add_argument("--lock-dir", type=Path, default=ROOT / "requirements")
    args = parser.parse_args(argv)
    if args.command == "compile":
        compile_locks(upgrade=args.upgrade)
        return 0
    problems = check(args.pyproject, args.lock_dir)
    for problem in problems:
        sys.stderr.write(f"dependency lock: {problem}\n")
    if problems:
        sys.stderr.write("run `make lock` and commit requirements/\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
