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
    NATIONAL_POLICY_MANAGE = "national:policy:manage"
    NATIONAL_REGULATIONS_MANAGE = "national:regulations:manage"
    NATIONAL_SUPERVISION_MANAGE = "national:supervision:manage"
    NATIONAL_SERVICE_AREA_MANAGE = "national:service-area:manage"
    NATIONAL_JOBS_READ = "national:jobs:read"
    REGION_COMPLIANCE_READ = "region:compliance:read"
    TENANT_PROFILE_READ = "tenant:profile:read"
    TENANT_UNITS_READ = "tenant:units:read"
    TENANT_UNITS_WRITE = "tenant:units:write"
    TENANT_STAFF_READ = "tenant:staff:read"
    TENANT_STAFF_WRITE = "tenant:staff:write"
    TENANT_COMPLIANCE_READ = "tenant:compliance:read"
    TENANT_REGULATIONS_READ = "tenant:regulations:read"
    TENANT_REGULATIONS_WRITE = "tenant:regulations:write"
    TENANT_REGULATIONS_APPROVE = "tenant:regulation-approval:manage"
    UNIT_WORKSPACE_READ = "unit:workspace:read"
    UNIT_BENEFICIARIES_READ = "unit:beneficiaries:read"
    UNIT_BENEFICIARIES_WRITE = "unit:beneficiaries:write"
    UNIT_BENEFICIARY_RIGHTS_MANAGE = "unit:beneficiary-rights:manage"

    @property
    def personal_data(self) -> bool:
        """People's records ("unit" scope): held only inside the units that keep them."""
        return self.value.startswith("unit:")


PERMISSION_DESCRIPTIONS: dict[Permission, str] = {
    Permission.PLATFORM_ONBOARDING_REVIEW: (
        "Review municipalities' onboarding requests: read them (with the representative's "
        "contact), approve (provisions the tenant and invites its first admin) or reject."
    ),
    Permission.NATIONAL_POLICY_MANAGE: (
        "Edit the programme's policy (staffing bands, professional profiles) as new versions; "
        "each change recomputes every centre's compliance in the background."
    ),
    Permission.NATIONAL_REGULATIONS_MANAGE: (
        "Receive operating regulations: list the current ones of all municipalities, download "
        "them as a bundle, acknowledge a submission or return it with comments."
    ),
    Permission.NATIONAL_SUPERVISION_MANAGE: (
        "Set the seat municipality of a regional unit whose seat the reference data leaves "
        "unknown, which decides the supervision of its municipalities without a Social Service."
    ),
    Permission.NATIONAL_SERVICE_AREA_MANAGE: (
        "Allow a municipality's mobile units to serve a municipality outside the area the policy "
        "sets around their centre (its region), with a reason; list and withdraw such exceptions."
    ),
    Permission.NATIONAL_JOBS_READ: (
        "Follow the background jobs run over every municipality (compliance recomputes, daily "
        "offboarding): progress, counts, duration, and the municipalities that failed."
    ),
    Permission.REGION_COMPLIANCE_READ: (
        "The compliance overview across municipalities: the country for national roles, the "
        "own region for regional officers, the supervised municipalities for supervisors."
    ),
    Permission.TENANT_PROFILE_READ: "Read a municipality's public profile (name, status).",
    Permission.TENANT_UNITS_READ: "Read the municipality's structure: centres, annexes, mobile units.",
    Permission.TENANT_UNITS_WRITE: (
        "Register and edit the centre (details, premises), its annexes and mobile units; close them."
    ),
    Permission.TENANT_STAFF_READ: (
        "Read the staff roster (employees' names and e-mail addresses); a centre head reads "
        "the members of their own centre's units only."
    ),
    Permission.TENANT_STAFF_WRITE: "Keep the staff roster and invite staff members as users.",
    Permission.TENANT_COMPLIANCE_READ: "Read the centres' computed compliance and unmet items.",
    Permission.TENANT_REGULATIONS_READ: "Read and download the operating regulation's versions.",
    Permission.TENANT_REGULATIONS_WRITE: (
        "Upload an operating regulation's draft versions and submit approved ones to the ministry."
    ),
    Permission.TENANT_REGULATIONS_APPROVE: "Approve a draft operating regulation (centre head).",
    Permission.UNIT_WORKSPACE_READ: (
        "Enter a unit's workspace, where its people's records live (personal data; own units only)."
    ),
    Permission.UNIT_BENEFICIARIES_READ: (
        "Find and read the people the user's units registered (personal data; every read and "
        "search audited)."
    ),
    Permission.UNIT_BENEFICIARIES_WRITE: (
        "Register people in the user's units and correct their records (personal data; audited)."
    ),
    Permission.UNIT_BENEFICIARY_RIGHTS_MANAGE: (
        "Answer a person's data-protection rights for the centre's people: the right of access "
        "(everything held and who accessed it; GDPR Art. 15) (centre head; audited)."
    ),
}

# Structure, profile, compliance and documents: every role that reaches the municipality.
_OVERSIGHT = frozenset(
    {
        Permission.TENANT_PROFILE_READ,
        Permission.TENANT_UNITS_READ,
        Permission.TENANT_COMPLIANCE_READ,
        Permission.TENANT_REGULATIONS_READ,
    }
)
# Looking across municipalities (each role within its reach).
_OVERVIEW = _OVERSIGHT | {Permission.REGION_COMPLIANCE_READ}
# People's records: only the staff of the unit (centre heads: their centre's subtree).
_UNIT_WORK = _OVERSIGHT | {
    Permission.UNIT_WORKSPACE_READ,
    Permission.UNIT_BENEFICIARIES_READ,
    Permission.UNIT_BENEFICIARIES_WRITE,
}
# Deciding which municipalities join the platform: its operators and the ministry.
_ONBOARDING = _OVERSIGHT | {Permission.PLATFORM_ONBOARDING_REVIEW}
# The municipality's own set-up: structure, premises, roster, documents.
_MUNICIPALITY_ADMIN = _OVERSIGHT | {
    Permission.TENANT_UNITS_WRITE,
    Permission.TENANT_STAFF_READ,
    Permission.TENANT_STAFF_WRITE,
    Permission.TENANT_REGULATIONS_WRITE,
}
_CENTRE_HEAD = _UNIT_WORK | {
    Permission.UNIT_BENEFICIARY_RIGHTS_MANAGE,
    Permission.TENANT_STAFF_READ,
    Permission.TENANT_REGULATIONS_WRITE,
    Permission.TENANT_REGULATIONS_APPROVE,
}
_MINISTRY = (
    _ONBOARDING
    | _OVERVIEW
    | {
        Permission.NATIONAL_POLICY_MANAGE,
        Permission.NATIONAL_REGULATIONS_MANAGE,
        Permission.NATIONAL_SUPERVISION_MANAGE,
        Permission.NATIONAL_SERVICE_AREA_MANAGE,
        Permission.NATIONAL_JOBS_READ,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_OPERATOR: _ONBOARDING,
    Role.MINISTRY_OFFICER: _MINISTRY,
    Role.REGIONAL_OFFICER: _OVERVIEW,
    Role.SUPERVISOR_OPERATIONAL: _OVERVIEW,
    Role.SUPERVISOR_ADMINISTRATIVE: _OVERVIEW,
    Role.MUNICIPALITY_ADMIN: _MUNICIPALITY_ADMIN,
    Role.CENTRE_HEAD: _CENTRE_HEAD,
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
            if permission.personal_data and role not in UNIT_ROLES:
                problems.append(f"{role} must not hold personal-data permission {permission.value}")
            if permission.personal_data and ROLE_REACH.get(role) != Reach.ORGANIZATION:
                problems.append(f"{role} reaches beyond one municipality: no {permission.value}")
    if problems:
        raise PermissionTableError("; ".join(problems))


def roles_with(permission: Permission) -> list[Role]:
    return [role for role in Role if permission in ROLE_PERMISSIONS.get(role, frozenset())]
