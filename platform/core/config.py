"""Configuration from environment variables, with embedded defaults.

Every setting has a default that works on a fresh machine with no services: without
``KENTRA_DATABASE_URL`` an embedded PostgreSQL (pgserver) is started under ``var/``; without
``KENTRA_BROKER_URL`` Celery uses kombu's SQLAlchemy transport on that same database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL, make_url

ENVIRONMENTS = ("development", "test", "production")
DEFAULT_DATABASE_NAME = "kentra"
# The embedded issuer mimics Keycloak's URL layout, so switching is configuration only.
EMBEDDED_ISSUER_PATH = "/auth/realms/kentra"


class ConfigError(ValueError):
    """A setting has a value the platform cannot use."""


def _project_root() -> Path:
    """The source checkout (editable install), else the working directory (installed wheel)."""
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / "pyproject.toml").exists() else Path.cwd()


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


# psycopg's own default: a statement is prepared on the server at its sixth execution on a
# connection (after 5 runs).
DEFAULT_PREPARE_THRESHOLD = 5


def _prepare_threshold(environ: Mapping[str, str]) -> int | None:
    """KENTRA_DB_PREPARE_THRESHOLD: psycopg's prepare_threshold, or ``off`` (never prepare)."""
    raw = (environ.get("KENTRA_DB_PREPARE_THRESHOLD") or "").strip().lower()
    if raw == "":
        return DEFAULT_PREPARE_THRESHOLD
    if raw in ("off", "none"):
        return None
    if raw.isdigit():
        return int(raw)
    raise ConfigError(f"KENTRA_DB_PREPARE_THRESHOLD must be a whole number or off, got {raw!r}")


DEFAULT_PUBLIC_SUBMISSION_LIMIT = "5 per minute; 20 per hour"
DEFAULT_LOGIN_FAILURE_LIMIT = "20 per minute; 100 per hour"


@dataclass(frozen=True)
class Settings:
    """Effective settings of one process. Build with :meth:`from_env`."""

    env: str = "development"
    database_url: str | None = None
    broker_url: str | None = None
    result_backend: str | None = None
    var_dir: Path = field(default_factory=lambda: _project_root() / "var")
    database_name: str = DEFAULT_DATABASE_NAME
    max_content_length: int = 1024 * 1024
    # A file upload's own limit (views marked with kentra.platform.core.inputs.accepts_upload).
    max_upload_bytes: int = 10 * 1024 * 1024
    log_level: str = "INFO"
    log_json: bool = True
    pool_size: int = 5
    max_overflow: int = 5
    # psycopg's server-side prepared statements: after this many runs of a statement on a
    # connection (None: never). Off behind a transaction-pooling PgBouncer (ADR 0022).
    db_prepare_threshold: int | None = DEFAULT_PREPARE_THRESHOLD
    secret_key: str | None = None
    # Public base URL of this platform (the embedded issuer lives under it).
    base_url: str = "http://127.0.0.1:5000"
    # Unset: the embedded issuer at <base_url>/auth/realms/kentra. Set: e.g. Keycloak's
    # https://id.example.gr/realms/kentra.
    oidc_issuer: str | None = None
    oidc_web_client_secret: str | None = None
    # Keycloak admin API (the provisioning service account), used when oidc_issuer is set.
    keycloak_server_url: str | None = None
    keycloak_admin_client_secret: str | None = None
    # Public submissions (the onboarding signup), per client address: `limits` notation,
    # several separated by ";"; empty turns the limit off.
    public_submission_limit: str = DEFAULT_PUBLIC_SUBMISSION_LIMIT
    # Failed logins at the embedded issuer per client address, same notation (the per-user
    # lockout follows the realm export's brute-force detection).
    login_failure_limit: str = DEFAULT_LOGIN_FAILURE_LIMIT
    # Where limits are counted: None, the database (every process counts together); or a
    # `limits` storage URI: redis://127.0.0.1:6379/2 (shared), memory:// (per process).
    rate_limit_storage: str | None = None
    # Reverse proxies in front of the app that set X-Forwarded-For/-Proto (0: none): the
    # client address of rate limits and logs is then the one the proxies report.
    proxy_hops: int = 0
    # Strict-Transport-Security max-age on answers to requests that came over TLS (0: off).
    hsts_seconds: int = 31536000
    # The platform's help desk, shown in every page's footer and on /help (empty: the help
    # page names who to ask, without an address).
    help_email: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env_vars = os.environ if environ is None else environ
        env = env_vars.get("KENTRA_ENV", "development")
        if env not in ENVIRONMENTS:
            raise ConfigError(f"KENTRA_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
        var_dir = Path(env_vars.get("KENTRA_VAR_DIR") or _project_root() / "var")
        return cls(
            env=env,
            database_url=env_vars.get("KENTRA_DATABASE_URL") or None,
            broker_url=env_vars.get("KENTRA_BROKER_URL") or None,
            result_backend=env_vars.get("KENTRA_RESULT_BACKEND") or None,
            var_dir=var_dir,
            database_name=env_vars.get("KENTRA_DATABASE_NAME") or DEFAULT_DATABASE_NAME,
            max_content_length=_int(env_vars, "KENTRA_MAX_CONTENT_LENGTH", 1024 * 1024),
            max_upload_bytes=_int(env_vars, "KENTRA_MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
            log_level=(env_vars.get("KENTRA_LOG_LEVEL") or "INFO").upper(),
            log_json=env_vars.get("KENTRA_LOG_FORMAT", "json") != "text",
            pool_size=_int(env_vars, "KENTRA_DB_POOL_SIZE", 5),
            max_overflow=_int(env_vars, "KENTRA_DB_MAX_OVERFLOW", 5),
            db_prepare_threshold=_prepare_threshold(env_vars),
            secret_key=env_vars.get("KENTRA_SECRET_KEY") or None,
            base_url=(
                env_vars.get("KENTRA_BASE_URL")
                or f"http://127.0.0.1:{env_vars.get('PORT') or 5000}"
            ).rstrip("/"),
            oidc_issuer=(env_vars.get("KENTRA_OIDC_ISSUER") or "").rstrip("/") or None,
            oidc_web_client_secret=env_vars.get("KENTRA_OIDC_WEB_CLIENT_SECRET") or None,
            keycloak_server_url=env_vars.get("KENTRA_KEYCLOAK_URL") or None,
            keycloak_admin_client_secret=env_vars.get("KENTRA_KEYCLOAK_ADMIN_SECRET") or None,
            help_email=(env_vars.get("KENTRA_HELP_EMAIL") or "").strip(),
            public_submission_limit=env_vars.get(
                "KENTRA_PUBLIC_SUBMISSION_LIMIT", DEFAULT_PUBLIC_SUBMISSION_LIMIT
            ).strip(),
            login_failure_limit=env_vars.get(
                "KENTRA_LOGIN_FAILURE_LIMIT", DEFAULT_LOGIN_FAILURE_LIMIT
            ).strip(),
            rate_limit_storage=env_vars.get("KENTRA_RATE_LIMIT_STORAGE") or None,
            proxy_hops=_int(env_vars, "KENTRA_PROXY_HOPS", 0),
            hsts_seconds=_int(env_vars, "KENTRA_HSTS_SECONDS", 31536000),
        )

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def uses_embedded_issuer(self) -> bool:
        return self.oidc_issuer is None

    @property
    def issuer(self) -> str:
        """The expected ``iss`` of every token."""
        return self.oidc_issuer or f"{self.base_url}{EMBEDDED_ISSUER_PATH}"


def sqlalchemy_url(raw: str) -> URL:
    """Normalise a PostgreSQL URL to SQLAlchemy's psycopg 3 driver."""
    url = make_url(raw)
    if url.drivername == "postgres":  # the short scheme many hosting providers hand out
        url = url.set(drivername="postgresql")
    if url.get_backend_name() != "postgresql":
        raise ConfigError(f"only PostgreSQL is supported, got {url.get_backend_name()!r}")
    return url.set(drivername="postgresql+psycopg")


def database_url(settings: Settings) -> URL:
    """The database URL this process uses, starting the embedded server if none is configured."""
    if settings.database_url is not None:
        return sqlalchemy_url(settings.database_url)
    from kentra.platform.core import embedded  # noqa: PLC0415 - pgserver is only needed here

    return embedded.database_url(settings)


def broker_url(settings: Settings) -> str:
    """The Celery broker: the configured one, else kombu's SQLAlchemy transport on our database."""
    if settings.broker_url is not None:
        return settings.broker_url
    url = database_url(settings)
    return "sqla+" + url.render_as_string(hide_password=False)


def result_backend(settings: Settings) -> str:
    """Task results live in PostgreSQL unless another backend is configured."""
    if settings.result_backend is not None:
        return settings.result_backend
    url = database_url(settings)
    return "db+" + url.render_as_string(hide_password=False)
