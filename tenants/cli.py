"""``kentra tenants …`` and ``kentra db …`` commands."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy import Engine

from kentra.platform.core.config import ConfigError, Settings
from kentra.platform.core.database import get_engine
from kentra.tenants.codes import InvalidMunicipalityCode
from kentra.tenants.models import TenantStatus
from kentra.tenants.provisioning import (
    TenantError,
    TenantInfo,
    UnknownMunicipality,
    change_status,
    create_tenant,
    list_tenants,
)

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _engine() -> Engine:
    return get_engine(Settings.from_env())


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, default=str, indent=2))


def _fail(message: str, *, as_json: bool, code: int) -> NoReturn:
    if as_json:
        _dump({"error": message})
    else:
        click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _tenant_line(info: TenantInfo) -> str:
    return f"{info.code}  {info.schema:<8}  {info.status:<10}  {info.name_el}"


@click.group("tenants")
def tenants_group() -> None:
    """Municipalities on the platform: create, list, suspend, resume, archive."""


@tenants_group.command("create")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def create_command(code: str, as_json: bool) -> None:
    """Provision the tenant of municipality CODE (4-digit ELSTAT code). Idempotent."""
    from kentra.auth.adapters import identity_admin  # noqa: PLC0415
    from kentra.auth.keycloak_admin import KeycloakAdminError  # noqa: PLC0415

    engine = _engine()
    try:
        result = create_tenant(engine, code, identity=identity_admin(Settings.from_env(), engine))
    except (InvalidMunicipalityCode, UnknownMunicipality) as exc:
        _fail(str(exc), as_json=as_json, code=EXIT_BAD_INPUT)
    except (ConfigError, KeycloakAdminError) as exc:  # the identity provider's side
        _fail(str(exc), as_json=as_json, code=EXIT_FAILED)
    if as_json:
        _dump(
            {**asdict(result.tenant), "created": result.created, "duration_ms": result.duration_ms}
        )
    elif result.created:
        click.echo(f"created {_tenant_line(result.tenant)} in {result.duration_ms:.1f} ms")
    else:
        click.echo(f"exists  {_tenant_line(result.tenant)}")


@tenants_group.command("list")
@click.option(
    "--status", type=click.Choice([s.value for s in TenantStatus]), help="Only this status."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def list_command(status: str | None, as_json: bool) -> None:
    """List tenants."""
    tenants = list_tenants(_engine(), status=TenantStatus(status) if status else None)
    if as_json:
        _dump([asdict(t) for t in tenants])
        return
    for info in tenants:
        click.echo(_tenant_line(info))
    click.echo(f"{len(tenants)} tenant(s)")


def _status_command(name: str, target: TenantStatus, help_text: str) -> click.Command:
    @click.command(name, help=help_text)
    @click.argument("code")
    @click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    def command(code: str, as_json: bool) -> None:
        try:
            info, changed = change_status(_engine(), code, target)
        except InvalidMunicipalityCode as exc:
            _fail(str(exc), as_json=as_json, code=EXIT_BAD_INPUT)
        except TenantError as exc:
            _fail(str(exc), as_json=as_json, code=EXIT_FAILED)
        if as_json:
            _dump({**asdict(info), "changed": changed})
        else:
            click.echo(f"{'changed' if changed else 'already'} {_tenant_line(info)}")

    return command


tenants_group.add_command(
    _status_command(
        "suspend", TenantStatus.SUSPENDED, "Suspend tenant CODE: its API answers 404, data is kept."
    )
)
tenants_group.add_command(
    _status_command("resume", TenantStatus.ACTIVE, "Resume a suspended tenant CODE.")
)
tenants_group.add_command(
    _status_command(
        "archive", TenantStatus.ARCHIVED, "Archive tenant CODE: data is kept, access ends."
    )
)


@click.group("db")
def db_group() -> None:
    """Database schema: migrate both streams, check for drift, write revisions."""


@db_group.command("upgrade")
@click.option(
    "--jobs",
    "-j",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes for tenant schemas.",
)
@click.option("--tenant", "only", multiple=True, help="Only this tenant (repeatable).")
@click.option(
    "--lock-timeout", default="10s", show_default=True, help="PostgreSQL lock_timeout per schema."
)
@click.option(
    "--statement-timeout",
    default="10min",
    show_default=True,
    help="PostgreSQL statement_timeout per schema.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def upgrade_command(
    jobs: int, only: tuple[str, ...], lock_timeout: str, statement_timeout: str, as_json: bool
) -> None:
    """Migrate the shared schema, then every tenant schema; report failures per tenant."""
    from kentra.tenants.migrate import Timeouts, UnknownTenantFilter, upgrade_all  # noqa: PLC0415

    try:
        report = upgrade_all(
            _engine(),
            jobs=jobs,
            only=only,
            timeouts=Timeouts(lock=lock_timeout, statement=statement_timeout),
        )
    except (InvalidMunicipalityCode, UnknownTenantFilter) as exc:
        _fail(str(exc), as_json=as_json, code=EXIT_BAD_INPUT)
    if as_json:
        _dump(report.as_dict())
    else:
        click.echo(f"shared: {report.shared_from or 'empty'} -> {report.shared_to}")
        if report.shared_data_loaded:
            click.echo("shared data loaded (reference data, initial policy)")
        click.echo(
            f"tenants: {report.count('migrated')} migrated, {report.count('skipped')} already at head, "
            f"{report.count('failed')} failed (head {report.tenant_head}) in {report.duration_ms:.0f} ms"
        )
        for failure in report.failed:
            click.echo(f"FAILED {failure.code} ({failure.schema}): {failure.error}", err=True)
    if report.failed:
        sys.exit(EXIT_FAILED)


@db_group.command("check")
def check_command() -> None:
    """Fail when the models and the migrations have drifted apart."""
    from kentra.tenants.migrate import check_drift  # noqa: PLC0415

    differences = check_drift(_engine())
    for difference in differences:
        click.echo(difference, err=True)
    if differences:
        click.echo(
            f"{len(differences)} difference(s): write a migration with `kentra db revision`",
            err=True,
        )
        sys.exit(EXIT_FAILED)
    click.echo("models and migrations agree")


@db_group.command("revision")
@click.option("--stream", type=click.Choice(["shared", "tenant"]), required=True)
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True, show_default=True)
def revision_command(stream: str, message: str, autogenerate: bool) -> None:
    """Write a new migration revision for a stream (autogenerated from the models)."""
    from kentra.tenants.revisions import create_revision  # noqa: PLC0415

    path: Path = create_revision(_engine(), stream, message, autogenerate=autogenerate)
    click.echo(f"wrote {path}")
