"""The kernel's settings, URLs, private files and model loading (platform/core is under the
100 % branch gate, ADR 0039): the refusals of a wrong setting, and what each default is."""

from __future__ import annotations

import importlib
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from kentra.platform.core import files, models
from kentra.platform.core.config import (
    DEFAULT_PREPARE_THRESHOLD,
    ConfigError,
    Settings,
    broker_url,
    result_backend,
    sqlalchemy_url,
)

URL = "postgresql://kentra:secret@db.example.invalid:5432/kentra"


def settings(**environ: str) -> Settings:
    return Settings.from_env({"KENTRA_ENV": "test", "KENTRA_DATABASE_URL": URL, **environ})


def test_a_setting_that_is_not_a_number_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"KENTRA_PROXY_HOPS must be an integer, got 'two'"):
        settings(KENTRA_PROXY_HOPS="two")
    assert settings(KENTRA_PROXY_HOPS="").proxy_hops == 0
    assert settings(KENTRA_PROXY_HOPS="2").proxy_hops == 2


@pytest.mark.parametrize(
    ("raw", "threshold"),
    [("", DEFAULT_PREPARE_THRESHOLD), ("off", None), (" None ", None), ("0", 0), ("12", 12)],
)
def test_the_prepare_threshold_is_a_number_or_off(raw: str, threshold: int | None) -> None:
    assert settings(KENTRA_DB_PREPARE_THRESHOLD=raw).db_prepare_threshold == threshold


def test_a_prepare_threshold_of_another_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match="whole number or off, got '-1'"):
        settings(KENTRA_DB_PREPARE_THRESHOLD="-1")


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="KENTRA_ENV must be one of"):
        Settings.from_env({"KENTRA_ENV": "staging"})


def test_only_postgresql_urls_and_always_with_psycopg_3() -> None:
    assert sqlalchemy_url("postgres://u@h/d").drivername == "postgresql+psycopg"
    assert sqlalchemy_url("postgresql+psycopg2://u@h/d").drivername == "postgresql+psycopg"
    with pytest.raises(ConfigError, match="only PostgreSQL is supported, got 'mysql'"):
        sqlalchemy_url("mysql://u@h/d")


def test_the_broker_and_results_default_to_the_database_unless_configured() -> None:
    plain = settings()
    rendered = "postgresql+psycopg://kentra:secret@db.example.invalid:5432/kentra"
    assert broker_url(plain) == f"sqla+{rendered}"
    assert result_backend(plain) == f"db+{rendered}"
    configured = settings(
        KENTRA_BROKER_URL="redis://127.0.0.1:6379/0",
        KENTRA_RESULT_BACKEND="redis://127.0.0.1:6379/1",
    )
    assert broker_url(configured) == "redis://127.0.0.1:6379/0"
    assert result_backend(configured) == "redis://127.0.0.1:6379/1"


def test_a_private_file_is_written_once_and_private(tmp_path: Path) -> None:
    key = tmp_path / "key"
    files.write_once(key, b"first")
    files.write_once(key, b"second")  # another process got there first: its file stands
    assert key.read_bytes() == b"first"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key"]  # no temporary file left


def test_a_failed_private_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        files.write_once(tmp_path / "key", b"secret")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("module", ["kentra.platform.units.models", "kentra.auth.issuer.models"])
def test_loading_the_models_skips_modules_without_models_but_not_a_broken_one(
    module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    models.load_all_models()  # platform/home, platform/web… have no models: skipped
    real = importlib.import_module

    def broken(name: str, *args: Any) -> Any:
        if name == module:  # a models module whose own import is missing
            raise ModuleNotFoundError("No module named 'reportlab'", name="reportlab")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="reportlab"):
        models.load_all_models()
