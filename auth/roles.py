"""Roles (Keycloak client roles of ``kentra-api``) and the reach of each.

The role names are those of ``infra/keycloak/realm-kentra.json``; a test keeps them equal.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    PLATFORM_OPERATOR = "platform-operator"
    MINISTRY_OFFICER = "ministry-officer"
    REGIONAL_OFFICER = "regional-officer"
    SUPERVISOR_OPERATIONAL = "supervisor-operational"
    SUPERVISOR_ADMINISTRATIVE = "supervisor-administrative"
    MUNICIPALITY_ADMIN = "municipality-admin"
    CENTRE_HEAD = "centre-head"
    STAFF = "staff"


class Reach(enum.StrEnum):
    """Which tenants a role may act in."""

    ORGANIZATION = "organization"  # the principal's own municipality (token's organization)
    REGION = "region"  # every municipality of the principal's region (kentra_region)
    NATIONAL = "national"  # every municipality
    # The principal's own municipality and those whose supervision it holds (domain.md §10:
    # those without a Social Service of its regional unit, when it is the unit's seat).
    SUPERVISION = "supervision"


ROLE_REACH: dict[Role, Reach] = {
    Role.PLATFORM_OPERATOR: Reach.NATIONAL,
    Role.MINISTRY_OFFICER: Reach.NATIONAL,
    Role.REGIONAL_OFFICER: Reach.REGION,
    Role.SUPERVISOR_OPERATIONAL: Reach.SUPERVISION,
    Role.SUPERVISOR_ADMINISTRATIVE: Reach.SUPERVISION,
    Role.MUNICIPALITY_ADMIN: Reach.ORGANIZATION,
    Role.CENTRE_HEAD: Reach.ORGANIZATION,
    Role.STAFF: Reach.ORGANIZATION,
}

# Roles whose holders work inside a municipality's units and may see personal data there.
UNIT_ROLES = frozenset({Role.CENTRE_HEAD, Role.STAFF})
# Roles a municipality holds inside itself: the only ones a municipality may grant or take away
# (the platform, ministry and regional roles are given by the platform alone).
MUNICIPALITY_ROLES = frozenset(
    role for role, reach in ROLE_REACH.items() if reach in {Reach.ORGANIZATION, Reach.SUPERVISION}
)


class Profession(enum.StrEnum):
    """Professional profiles of staff (domain.md §6); policy data will version them (issue 4)."""

    SOCIAL_WORKER = "social_worker"
    PSYCHOLOGIST = "psychologist"
    SOCIAL_SCIENTIST = "social_scientist"
    HEALTH_VISITOR_OR_NURSE = "health_visitor_or_nurse"
    ECONOMIST = "economist"
    LEARNING_SUPPORT = "learning_support"
    MEDIATOR = "mediator"
