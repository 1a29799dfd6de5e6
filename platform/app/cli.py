"""The ``kentra`` command line."""

from __future__ import annotations

import click

from kentra.platform.app import wiring
from kentra.tenants.cli import db_group, tenants_group

KEYCLOAK_USERS_HELP = (
    "With KENTRA_OIDC_ISSUER set: create the demo users (one per role, development passwords) "
    "in that Keycloak too. For a development Keycloak only (KENTRA_IDP=keycloak make run)."
)


@click.group()
def main() -> None:
    """Kentra: the Community Centres platform."""
    wiring.install()  # tenants/ provisions and upgrades with the modules' steps


main.add_command(tenants_group)
main.add_command(db_group)


@main.command("run")
@click.option("--port", envvar="PORT", default=5000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--keycloak-users", is_flag=True, help=KEYCLOAK_USERS_HELP)
def run_command(port: int, host: str, keycloak_users: bool) -> None:
    """Set up and run everything: database, migrations, demo data, worker and web server."""
    from kentra.platform.app.devserver import run_platform  # noqa: PLC0415

    run_platform(host=host, port=port, keycloak_users=keycloak_users)


@main.command("seed-demo")
@click.option("--keycloak-users", is_flag=True, help=KEYCLOAK_USERS_HELP)
def seed_demo_command(keycloak_users: bool) -> None:
    """Create the demo tenants, their units and organizations, and the demo users."""
    from kentra.platform.app.devserver import seed_demo  # noqa: PLC0415
    from kentra.platform.core.config import Settings  # noqa: PLC0415
    from kentra.platform.core.database import get_engine  # noqa: PLC0415

    settings = Settings.from_env()
    for line in seed_demo(get_engine(settings), settings, keycloak_users=keycloak_users):
        click.echo(line)


@main.group("compliance")
def compliance_group() -> None:
    """Centres' compliance (kept current on every change; this recomputes all of it)."""


@compliance_group.command("recompute")
def compliance_recompute_command() -> None:
    """Recompute every active tenant's centres now, as the daily job does."""
    from kentra.platform.compliance.tasks import recompute_now  # noqa: PLC0415
    from kentra.platform.core.config import Settings  # noqa: PLC0415
    from kentra.platform.core.database import get_engine  # noqa: PLC0415

    result = recompute_now(get_engine(Settings.from_env()), actor="cli")
    click.echo(
        f"job {result['job_id']}: {result['done']} of {result['total']} municipalities "
        f"recomputed, {result['failed']} failed"
    )
    if result["failed"]:
        raise SystemExit(1)


@main.command("permissions")
@click.option("--write", is_flag=True, help="Rewrite docs/permissions.md instead of printing.")
def permissions_command(write: bool) -> None:
    """The roles, permissions and routes table (docs/permissions.md)."""
    from pathlib import Path  # noqa: PLC0415

    from kentra.auth.documentation import render_permissions_page  # noqa: PLC0415
    from kentra.platform.app.factory import create_app  # noqa: PLC0415

    page = render_permissions_page(create_app())
    if not write:
        click.echo(page, nl=False)
        return
    target = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
    target.write_text(page, encoding="utf-8")
    click.echo(f"wrote {target}")


if __name__ == "__main__":
    main()
