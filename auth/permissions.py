"""Permissions as data: a ``Permission`` enum and one table from roles to permissions.

Deny by default: a role has exactly the permissions listed here. ``check_permission_table``
runs at start-up (``create_app``) and refuses an inconsistent table. ``docs/permissions.md`` is
generated from this module (``kentra permissions --write``) and a test keeps it current.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable

from kentra.auth.roles import ROLE_REACH, UNIT_ROLES, Reach, Role

# scope:resource:action; "unit" scope means personal data, reachable only inside units.
_PERMISSION_FORMAT = re.compile(
    r"(platform|national|region|tenant|unit):[a-z-]+:(read|write|manage)"
)


class Permission(enum.StrEnum):
    PLATFORM_ONBOARDING_REVIEW = "platform:onboarding:manage"
    TENANT_PROFILE_READ = "tenant:profile:read"
    TENANT_UNITS_READ = "tenant:units:read"
    UNIT_WORKSPACE_READ = "unit:workspace:read"


PERMISSION_DESCRIPTIONS: dict[Permission, str] = {
    Permission.PLATFORM_ONBOARDING_REVIEW: (
        "Review municipalities' onboarding requests: read them (with the representative's "
        "contact), approve (provisions the tenant and invites its first admin) or reject."
    ),
    Permission.TENANT_PROFILE_READ: "Read a municipality's public profile (name, status).",
    Permission.TENANT_UNITS_READ: "Read the municipality's structure: centres, annexes, mobile units.",
    Permission.UNIT_WORKSPACE_READ: (
        "Enter a unit's workspace, where its people's records live (personal data; own units only)."
    ),
}

# Structure and profile: every role that reaches the municipality.
_OVERSIGHT = frozenset({Permission.TENANT_PROFILE_READ, Permission.TENANT_UNITS_READ})
# People's records: only the staff of the unit (centre heads: their centre's subtree).
_UNIT_WORK = _OVERSIGHT | {Permission.UNIT_WORKSPACE_READ}
# Deciding which municipalities join the platform: its operators and the ministry.
_ONBOARDING = _OVERSIGHT | {Permission.PLATFORM_ONBOARDING_REVIEW}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_OPERATOR: _ONBOARDING,
    Role.MINISTRY_OFFICER: _ONBOARDING,
    Role.REGIONAL_OFFICER: _OVERSIGHT,
    Role.SUPERVISOR_OPERATIONAL: _OVERSIGHT,
    Role.SUPERVISOR_ADMINISTRATIVE: _OVERSIGHT,
    Role.MUNICIPALITY_ADMIN: _OVERSIGHT,
    Role.CENTRE_HEAD: _UNIT_WORK,
    Role.STAFF: _UNIT_WORK,
}


class PermissionTableError(RuntimeError):
    """The roles→permissions table breaks one of its invariants; the app does not start."""


def check_permission_table(
    table: dict[Role, frozenset[Permission]] | None = None,
    descriptions: dict[Permission, str] | None = None,
    permissions: Iterable[Permission] = tuple(Permission),
) -> None:
    """Every role listed with a reach; every permission well-formed, described and granted;
    personal-data ("unit:") permissions only for unit roles, never for oversight."""
    table = ROLE_PERMISSIONS if table is None else table
    descriptions = PERMISSION_DESCRIPTIONS if descriptions is None else descriptions
    problems = [f"role {role} has no entry" for role in Role if role not in table]
    problems += [f"role {role} has no reach" for role in Role if role not in ROLE_REACH]
    for permission in permissions:
        if not _PERMISSION_FORMAT.fullmatch(permission.value):
            problems.append(f"{permission.value} is not scope:resource:action")
        if permission not in descriptions:
            problems.append(f"{permission.value} has no description")
        if not any(permission in granted for granted in table.values()):
            problems.append(f"{permission.value} is granted to no role")
    for role, granted in table.items():
        for permission in granted:
            if permission.value.startswith("unit:") and role not in UNIT_ROLES:
                problems.append(f"{role} must not hold personal-data permission {permission.value}")
            if permission.value.startswith("unit:") and ROLE_REACH.get(role) != Reach.ORGANIZATION:
                problems.append(f"{role} reaches beyond one municipality: no {permission.value}")
    if problems:
        raise PermissionTableError("; ".join(problems))


def roles_with(permission: Permission) -> list[Role]:
    return [role for role in Role if permission in ROLE_PERMISSIONS.get(role, frozenset())]
