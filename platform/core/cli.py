"""The ``kentra`` command line."""

from __future__ import annotations

import click

from kentra.tenants.cli import db_group, tenants_group


@click.group()
def main() -> None:
    """Kentra: the Community Centres platform."""


main.add_command(tenants_group)
main.add_command(db_group)


@main.command("run")
@click.option("--port", envvar="PORT", default=5000, show_default=True, type=int)
@click.option("--host", default="127.0.0.1", show_default=True)
def run_command(port: int, host: str) -> None:
    """Set up and run everything: database, migrations, demo data, worker and web server."""
    from kentra.platform.core.devserver import run_platform  # noqa: PLC0415

    run_platform(host=host, port=port)


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Create the demo tenants (idempotent)."""
    from kentra.platform.core.config import Settings  # noqa: PLC0415
    from kentra.platform.core.database import get_engine  # noqa: PLC0415
    from kentra.platform.core.devserver import seed_demo  # noqa: PLC0415

    for line in seed_demo(get_engine(Settings.from_env())):
        click.echo(line)


if __name__ == "__main__":
    main()
