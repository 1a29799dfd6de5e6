"""Tenant lifecycle: create (provision), list, suspend, resume, archive.

Provisioning is one transaction: the schema, every tenant table from the current models, the
tenant stream's head stamped in the schema's version table, the registry row and the seeded
defaults. A failure anywhere rolls all of it back. It takes the tenant's advisory lock (the
same key as ``kentra db upgrade``), so concurrent creates and migrations of one tenant queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.orm import Session

from kentra.auth.identity import IdentityAdmin
from kentra.platform.core.models import TENANT_SCHEMA, utcnow
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.ddl import tenant_schema_script
from kentra.tenants.migrate import LOCK_NAMESPACE_TENANT
from kentra.tenants.models import MUNICIPALITIES, Tenant, TenantStatus
from kentra.tenants.steps import installed_steps, record_registry_event
from kentra.tenants.streams import TENANT, default_stream


class TenantError(Exception):
    """A lifecycle request that cannot be carried out; the message is meant for the operator."""


class UnknownMunicipality(TenantError):
    pass


class UnknownTenant(TenantError):
    pass


class InvalidTransition(TenantError):
    pass


@dataclass(frozen=True)
class TenantInfo:
    code: str
    name_el: str
    schema: str
    status: str
    created_at: datetime
    status_changed_at: datetime


@dataclass(frozen=True)
class ProvisioningResult:
    tenant: TenantInfo
    created: bool
    duration_ms: float


def _info(tenant: Tenant, name_el: str) -> TenantInfo:
    return TenantInfo(
        code=tenant.code,
        name_el=name_el,
        schema=tenant.schema_name,
        status=str(tenant.status),
        created_at=tenant.created_at,
        status_changed_at=tenant.status_changed_at,
    )


# The steps after the registry lookup, in order. Tests inject a failure between them.
ProvisioningStep = Callable[[Connection, MunicipalityCode, str], None]


def _step_schema(conn: Connection, code: MunicipalityCode, _actor: str) -> None:
    """Schema, tables, indexes and migration stamp: one round trip (see tenants/ddl.py)."""
    conn.exec_driver_sql(tenant_schema_script(conn.dialect, code, default_stream(TENANT).head))


def _step_defaults(conn: Connection, code: MunicipalityCode, actor: str) -> None:
    """The defaults and first audit entry (the municipalities module's step), written through
    a tenant-bound session."""
    bound = conn.execution_options(schema_translate_map={TENANT_SCHEMA: code.schema_name})
    with Session(bind=bound) as session:
        installed_steps().tenant_defaults(session, code.value, actor)


PROVISIONING_STEPS: list[ProvisioningStep] = [_step_schema, _step_defaults]


def create_tenant(
    engine: Engine,
    raw_code: str,
    *,
    actor: str = "cli",
    identity: IdentityAdmin | None = None,
) -> ProvisioningResult:
    """Provision the tenant for municipality ``raw_code``; a repeat returns the existing tenant.

    With ``identity``, the municipality's organization is ensured in the identity provider
    inside the database transaction, and removed again if anything after it fails (the commit
    included): a failed attempt leaves neither a schema nor an organization behind.
    """
    started = time.perf_counter()
    code = parse_municipality_code(raw_code)
    steps = installed_steps()  # before anything is written
    organization_ensured = False
    try:
        with engine.connect() as conn, conn.begin():
            conn.execute(select(func.pg_advisory_xact_lock(LOCK_NAMESPACE_TENANT, code.number)))
            found = _municipality_and_tenant(conn, code)
            if found.status is not None and found.status != TenantStatus.REQUESTED:
                return ProvisioningResult(_info_from_row(found), False, _ms(started))

            if identity is not None:
                identity.ensure_organization(code.value, found.name_el)
                organization_ensured = True
            for step in PROVISIONING_STEPS:
                step(conn, code, actor)
            now = utcnow()
            values = {"status": TenantStatus.ACTIVE, "status_changed_at": now}
            registry = (
                insert(Tenant).values(
                    code=code.value, schema_name=code.schema_name, created_at=now, **values
                )
                if found.status is None
                # A requested tenant (self-service signup) becomes active.
                else update(Tenant).where(Tenant.code == code.value).values(**values)
            )
            audit = steps.platform_event(
                actor=actor, action="tenant.provisioned", tenant_code=code.value
            )
            row = conn.execute(
                registry.returning(Tenant.__table__).add_cte(audit.cte("platform_audit"))
            ).one()
    except BaseException:
        if organization_ensured:
            assert identity is not None
            identity.remove_organization(code.value)  # compensation: undo the identity step
        raise
    return ProvisioningResult(_info_from_row(row, found.name_el), True, _ms(started))


def _municipality_and_tenant(conn: Connection, code: MunicipalityCode) -> Any:
    """The municipality's name with its registry row (NULL columns when there is none)."""
    found = conn.execute(
        select(MUNICIPALITIES.c.name_el, Tenant.__table__)
        .select_from(MUNICIPALITIES)
        .outerjoin(Tenant, Tenant.code == MUNICIPALITIES.c.code)
        .where(MUNICIPALITIES.c.code == code.value)
    ).one_or_none()
    if found is None:
        raise UnknownMunicipality(
            f"{code.value} is not a municipality in the reference data (ELSTAT 2021, 332 municipalities)"
        )
    return found


def _info_from_row(row: Any, name_el: str | None = None) -> TenantInfo:
    return TenantInfo(
        code=row.code,
        name_el=name_el if name_el is not None else row.name_el,
        schema=row.schema_name,
        status=str(TenantStatus(row.status)),
        created_at=row.created_at,
        status_changed_at=row.status_changed_at,
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _set_status(tenant: Tenant, status: TenantStatus) -> None:
    tenant.status = status
    tenant.status_changed_at = utcnow()


def list_tenants(engine: Engine, *, status: TenantStatus | None = None) -> list[TenantInfo]:
    with Session(engine) as session:
        query = (
            select(Tenant, MUNICIPALITIES.c.name_el)
            .join(MUNICIPALITIES, MUNICIPALITIES.c.code == Tenant.code)
            .order_by(Tenant.code)
        )
        if status is not None:
            query = query.where(Tenant.status == status)
        return [_info(tenant, name) for tenant, name in session.execute(query)]


# Allowed lifecycle moves: target status -> statuses it may come from.
_TRANSITIONS: dict[TenantStatus, frozenset[TenantStatus]] = {
    TenantStatus.SUSPENDED: frozenset({TenantStatus.ACTIVE}),
    TenantStatus.ACTIVE: frozenset({TenantStatus.SUSPENDED}),
    TenantStatus.ARCHIVED: frozenset({TenantStatus.ACTIVE, TenantStatus.SUSPENDED}),
}


def change_status(
    engine: Engine, raw_code: str, target: TenantStatus, *, actor: str = "cli"
) -> tuple[TenantInfo, bool]:
    """Move a tenant to ``target``; a repeat is not an error. Returns (tenant, changed?)."""
    code = parse_municipality_code(raw_code)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        row = session.execute(
            select(Tenant, MUNICIPALITIES.c.name_el)
            .join(MUNICIPALITIES, MUNICIPALITIES.c.code == Tenant.code)
            .where(Tenant.code == code.value)
            .with_for_update(of=Tenant)
        ).one_or_none()
        if row is None:
            raise UnknownTenant(f"there is no tenant for municipality {code.value}")
        tenant, name = row
        if tenant.status == target:
            return _info(tenant, name), False
        if tenant.status not in _TRANSITIONS[target]:
            raise InvalidTransition(
                f"tenant {code.value} is {tenant.status}; it cannot become {target}"
            )
        _set_status(tenant, target)
        record_registry_event(
            session, actor=actor, action=f"tenant.{target}", tenant_code=code.value
        )
        return _info(tenant, name), True
