"""infra/dev/keycloak_dev_realm.py as a module (it is a script of its own, run with python3)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_dev_realm_module() -> ModuleType:
    """infra/dev/keycloak_dev_realm.py (not a package: the script runs it with python3)."""
    path = ROOT / "infra" / "dev" / "keycloak_dev_realm.py"
    spec = importlib.util.spec_from_file_location("keycloak_dev_realm", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEV_REALM = load_dev_realm_module()
