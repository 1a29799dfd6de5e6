"""docs/permissions.md is generated from the table and cannot drift; the table's invariants."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from kentra.auth.documentation import render_permissions_page
from kentra.auth.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    PermissionTableError,
    check_permission_table,
)
from kentra.auth.roles import Role
from tests.conftest import ROOT


def test_docs_permissions_page_is_current(app: Flask) -> None:
    committed = (ROOT / "docs" / "permissions.md").read_text(encoding="utf-8")
    assert committed == render_permissions_page(app), "run `kentra permissions --write`"


def test_the_table_passes_its_start_up_check() -> None:
    check_permission_table()


def test_a_role_missing_from_the_table_is_refused() -> None:
    table = {r: p for r, p in ROLE_PERMISSIONS.items() if r is not Role.STAFF}
    with pytest.raises(PermissionTableError, match="role staff has no entry"):
        check_permission_table(table)


def test_a_permission_granted_to_nobody_is_refused() -> None:
    table = dict.fromkeys(Role, frozenset[Permission]())
    with pytest.raises(PermissionTableError, match="granted to no role"):
        check_permission_table(table)


def test_an_undescribed_permission_is_refused() -> None:
    with pytest.raises(PermissionTableError, match="has no description"):
        check_permission_table(descriptions={})


def test_personal_data_never_goes_to_oversight_roles() -> None:
    # A personal-data ("unit:") permission granted to the ministry must stop the app.
    table: dict[Role, frozenset[Any]] = dict(ROLE_PERMISSIONS)
    table[Role.MINISTRY_OFFICER] = table[Role.MINISTRY_OFFICER] | {
        Permission.UNIT_BENEFICIARIES_READ
    }
    with pytest.raises(PermissionTableError, match="ministry-officer must not hold personal-data"):
        check_permission_table(table)


def test_personal_data_is_for_the_unit_roles_alone() -> None:
    personal = {p for p in Permission if p.personal_data}
    assert Permission.UNIT_BENEFICIARIES_READ in personal
    holders = {role for role, granted in ROLE_PERMISSIONS.items() if granted & personal}
    assert holders == {Role.CENTRE_HEAD, Role.STAFF}
    check_permission_table()
