"""The package list, found rather than written by hand (issue 12; docs/adr/0001).

Every folder with an ``__init__.py`` below a root of ``[tool.setuptools.package-dir]`` in
``pyproject.toml`` is a package of the distribution, so a new module cannot be left out of
the wheel by a forgotten line. Everything else about the build is in ``pyproject.toml``;
``tests/test_packaging.py`` builds the wheel and checks it holds every package and template.
"""

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def found_packages() -> list[str]:
    roots = tomllib.loads((HERE / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ]
    packages = []
    for name, folder in roots.items():
        packages.append(name)
        packages.extend(f"{name}.{sub}" for sub in find_packages(str(HERE / folder)))
    return sorted(packages)


setup(packages=found_packages())
