"""Scoped loaders only (issue 12 item 5, ADR 0041).

Every loader (the functions of a module's ``access.py``) takes the reader, required: a
``Principal``, or a ``SystemPrincipal(reason=...)`` for system work (public data also an
``Anonymous`` visitor). The loaders scope by it and audit their reads of personal data as its
``actor``.

A tenant table (a model on ``TenantBase``) is read only by its module's loaders and written
only by its operations (``operations.py``). Anywhere else a query of a tenant model is an
unscoped read that bypasses the unit scope and the audit: a lint test walks the source and
fails on one. Infrastructure that works on tenant schemas as such is listed, with its reason.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from types import FunctionType

import pytest
from flask import Flask, g
from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.auth.flask import current_reader
from kentra.auth.principal import (
    ANONYMOUS,
    Anonymous,
    Principal,
    SystemPrincipal,
    UnitPath,
)
from kentra.auth.roles import Role
from kentra.platform.audit.models import AuditEvent
from kentra.platform.compliance.access import OverviewReach, overview_reach
from kentra.platform.core.models import TenantBase
from kentra.platform.staff.access import (
    READ_ACTION,
    access_staff,
    access_staff_member_by_id,
    access_staff_member_for_change,
)
from kentra.platform.units.access import access_unit_workspace_by_id
from kentra.tenants.binding import TenantSession
from kentra.tenants.streams import tenant_metadata
from tests.conftest import ROOT, TENANT_A
from tests.factories import StaffMemberFactory, SubUnitFactory, UnitFactory

PRODUCT_DIRS = ("platform", "tenants", "tasks", "auth")
# Files that may name a tenant model in a query besides the modules' access.py/operations.py.
ALLOWED = {
    # Schema infrastructure: provisioning creates a schema's tables and first rows, migrations
    # and the stream metadata are the tables themselves; none reads a person's data.
    "tenants/": "provisioning, migrations and streams work on a tenant schema as such",
    "migrations/": "migrations create and change the tables",
    # The audit module writes the audit rows every loader and operation records.
    "platform/audit/": "the audit trail itself (written by record_tenant_event)",
}
# How a query names its model: the calls whose arguments (or whose receiver) are a model.
QUERY_CALLS = frozenset(
    {
        "select",
        "get",
        "query",
        "select_from",
        "join",
        "outerjoin",
        "update",
        "delete",
        "insert",
        "exists",
        "get_one",
        "with_entities",
    }
)


def tenant_models() -> dict[str, str]:
    """Every model on ``TenantBase``: its module's dotted name and class name, by class name."""
    tenant_metadata()  # every module's models loaded
    return {
        mapper.class_.__name__: mapper.class_.__module__ for mapper in TenantBase.registry.mappers
    }


def is_allowed(name: str) -> bool:
    if name.endswith(("/access.py", "/operations.py")):
        return True
    return any(name.startswith(prefix) for prefix in ALLOWED)


def _local_names(tree: ast.AST, models: dict[str, str]) -> tuple[set[str], set[str]]:
    """The names a file gives the tenant models (``from m import Unit as U``: ``U``) and the
    names it gives their modules (``from kentra.platform.units import models``)."""
    classes: set[str] = set()
    modules: set[str] = set()
    model_modules = set(models.values())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                local = alias.asname or alias.name
                if models.get(alias.name) == node.module:
                    classes.add(local)
                elif f"{node.module}.{alias.name}" in model_modules:
                    modules.add(local)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in model_modules and alias.asname:
                    modules.add(alias.asname)
        elif isinstance(node, ast.ClassDef) and node.name in models:
            classes.add(node.name)
    return classes, modules


def _names_a_model(node: ast.expr, classes: set[str], modules: set[str], models: set[str]) -> bool:
    """``Unit``, ``Unit.id``, ``U.c.id``, ``models.Unit`` and ``models.Unit.id``."""
    while isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id in modules:
            return node.attr in models
        node = node.value
    return isinstance(node, ast.Name) and node.id in classes


def unscoped_queries(files: Iterator[tuple[str, str]]) -> list[str]:
    """``file:line`` of each query of a tenant model outside the places allowed to make one."""
    models = tenant_models()
    found = []
    for name, source in files:
        if is_allowed(name):
            continue
        tree = ast.parse(source)
        classes, modules = _local_names(tree, models)
        if not classes and not modules:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("__table__", "__tablename__"):
                hit = _names_a_model(node.value, classes, modules, set(models))
            elif isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                hit = called in QUERY_CALLS and any(
                    _names_a_model(argument, classes, modules, set(models))
                    for argument in node.args
                )
            else:
                continue
            if hit:
                found.append(f"{name}:{node.lineno}")
    return sorted(set(found), key=lambda hit: (hit.split(":")[0], int(hit.split(":")[1])))


def product_files() -> Iterator[tuple[str, str]]:
    for directory in (*PRODUCT_DIRS, "migrations"):
        for path in sorted((ROOT / directory).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text()


def test_no_unscoped_query_of_a_tenant_model() -> None:
    assert unscoped_queries(product_files()) == []


def test_the_lint_finds_unscoped_queries() -> None:
    planted = [
        (
            "platform/x/views.py",
            "from kentra.platform.staff.models import StaffMember\n"
            "from kentra.platform.units.models import Unit as U\n"
            "from kentra.platform.units import models\n"
            "session.scalars(select(StaffMember))\n"
            "session.get(U, 1)\n"
            "session.query(models.Unit).all()\n"
            "session.scalar(select(StaffMember.id).limit(1))\n"
            "select(func.count()).select_from(models.UnitServedMunicipality)\n"
            "read_rows(session, select(U.__table__))\n",
        ),
        ("platform/x/tasks.py", "import kentra.platform.units.models as m\nm.Unit.__table__\n"),
        # A loader and an operation may; so may infrastructure; other models are not scoped.
        ("platform/x/access.py", "from kentra.platform.units.models import Unit\nselect(Unit)\n"),
        ("platform/x/operations.py", "from kentra.platform.units.models import Unit\nselect(Unit)"),
        ("tenants/provisioning.py", "from kentra.platform.units.models import Unit\nselect(Unit)"),
        ("platform/x/blueprint.py", "from kentra.tenants.models import Tenant\nselect(Tenant)\n"),
        ("platform/x/other.py", "from kentra.platform.units.models import Unit\nUnit.name\n"),
    ]
    assert unscoped_queries(iter(planted)) == [
        "platform/x/tasks.py:2",
        *(f"platform/x/views.py:{line}" for line in (4, 5, 6, 7, 8, 9)),
    ]


# --- every loader takes the reader --------------------------------------------------------------

# Functions of access.py that read nothing (no reader needed).
NOT_LOADERS = {"unit_path", "bundle_path"}


def loaders() -> Iterator[tuple[str, FunctionType]]:
    for path in sorted((ROOT / "platform").glob("*/access.py")):
        module = importlib.import_module(f"kentra.platform.{path.parent.name}.access")
        for name, function in vars(module).items():
            if (
                isinstance(function, FunctionType)
                and function.__module__ == module.__name__
                and not name.startswith("_")
                and name not in NOT_LOADERS
            ):
                yield f"{path.parent.name}.{name}", function


def test_every_loader_requires_the_reader() -> None:
    found = dict(loaders())
    assert len(found) > 40
    missing = {
        name
        for name, function in found.items()
        if (parameter := inspect.signature(function).parameters.get("reader")) is None
        or parameter.default is not inspect.Parameter.empty
        or parameter.annotation not in ("Reader", "PublicReader")
    }
    assert missing == set()


def test_a_loader_does_not_run_without_a_reader(tenant_a_db: TenantSession) -> None:
    with pytest.raises(TypeError, match="reader"):
        access_staff(tenant_a_db, municipality_code=TENANT_A.value)  # type: ignore[call-arg]


# --- who reads ----------------------------------------------------------------------------------


def test_system_work_names_its_reason() -> None:
    system = SystemPrincipal(reason="offboarding")
    assert system.actor == "system:offboarding"
    assert not hasattr(system, "roles")
    assert not hasattr(system, "permissions")
    with pytest.raises(ValueError, match="reason"):
        SystemPrincipal(reason="  ")


def test_a_person_reads_as_their_subject_and_a_visitor_as_anonymous(app: Flask) -> None:
    person = Principal(subject="user-1", client="kentra-web")
    assert person.actor == "user-1"
    assert ANONYMOUS.actor == "anonymous"
    assert isinstance(ANONYMOUS, Anonymous)
    with app.test_request_context("/"):
        assert current_reader() is ANONYMOUS
        g.principal = person
        assert current_reader() is person


# --- the staff roster: a centre head's units; system work the whole roster, audited ---------


def head_of(centre: str) -> Principal:
    return Principal(
        subject="head-1",
        client="kentra-web",
        roles=frozenset({Role.CENTRE_HEAD}),
        organization=TENANT_A.value,
        units=(UnitPath(TENANT_A.value, centre),),
    )


def reads(session: Session, actor: str) -> list[dict[str, object]]:
    return [
        event.details
        for event in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.actor == actor, AuditEvent.action == READ_ACTION)
            .order_by(AuditEvent.id)
        )
    ]


def test_a_centre_head_reads_their_centres_roster_and_system_work_all_of_it(
    tenant_a_db: TenantSession,
) -> None:
    own = UnitFactory()
    own_annex = StaffMemberFactory(unit=SubUnitFactory(parent=own))
    at_own = StaffMemberFactory(unit=own)
    elsewhere = StaffMemberFactory()
    head = head_of(own.centre)
    code = TENANT_A.value

    scoped = access_staff(tenant_a_db, head, municipality_code=code)
    assert {m.id for m in scoped} >= {own_annex.id, at_own.id}
    assert elsewhere.id not in {m.id for m in scoped}
    assert (
        access_staff_member_by_id(tenant_a_db, head, elsewhere.id, municipality_code=code) is None
    )
    assert access_staff_member_by_id(tenant_a_db, head, at_own.id, municipality_code=code) is at_own
    assert access_staff_member_for_change(tenant_a_db, head, at_own.id) is None  # keeps no roster

    system = SystemPrincipal(reason="roster test")
    everyone = access_staff(tenant_a_db, system, municipality_code=code)
    assert {own_annex.id, at_own.id, elsewhere.id} <= {m.id for m in everyone}
    assert access_staff_member_for_change(tenant_a_db, system, elsewhere.id) is elsewhere
    assert reads(tenant_a_db, "system:roster test") == [
        {"staff_ids": [m.id for m in everyone], "count": len(everyone)}
    ]
    assert reads(tenant_a_db, "head-1") == [
        {"staff_ids": [m.id for m in scoped], "count": len(scoped)},
        {"staff_ids": [at_own.id], "count": 1},
    ]


def test_system_work_enters_any_workspace_a_person_only_their_own(
    tenant_a_db: TenantSession,
) -> None:
    own, other = UnitFactory(), UnitFactory()
    head = head_of(own.centre)
    code = TENANT_A.value
    assert access_unit_workspace_by_id(tenant_a_db, head, code, own.id) is own
    assert access_unit_workspace_by_id(tenant_a_db, head, code, other.id) is None
    system = SystemPrincipal(reason="workspace test")
    assert access_unit_workspace_by_id(tenant_a_db, system, code, other.id) is other


def test_system_work_reaches_the_whole_overview(db: Session) -> None:
    assert overview_reach(db, SystemPrincipal(reason="overview test")) == OverviewReach(
        national=True
    )
    assert overview_reach(db, head_of("kk-x")) == OverviewReach()
