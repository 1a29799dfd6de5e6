"""``docs/permissions.md``, generated from the roles→permissions table and the app's routes.

``kentra permissions --write`` rewrites it; a test fails when the committed page is stale.
"""

from __future__ import annotations

from flask import Flask

from kentra.auth.flask import PUBLIC, requirement_of
from kentra.auth.permissions import (
    PERMISSION_DESCRIPTIONS,
    ROLE_PERMISSIONS,
    Permission,
    roles_with,
)
from kentra.auth.roles import ROLE_REACH, UNIT_ROLES, Role

REACH_MEANING = {
    "organization": "own municipality (the token's organization)",
    "region": "every municipality of the officer's region (kentra_region)",
    "national": "every municipality",
    "supervision": "own municipality and the municipalities it supervises (derived supervision)",
}


def render_permissions_page(app: Flask) -> str:
    lines = [
        "# Permissions",
        "",
        "Generated from `auth/permissions.py`, `auth/roles.py` and the app's routes by",
        "`kentra permissions --write`; `tests/auth/test_permissions_doc.py` fails when it is stale.",
        "Deny by default: a role has exactly the permissions below; an endpoint must declare",
        "`@public` or `@requires(...)`, and one that declares neither is closed.",
        "",
        "## Roles",
        "",
        "| role (Keycloak client role of `kentra-api`) | reach | sees personal data in its units |",
        "|---|---|---|",
    ]
    for role in Role:
        reach = ROLE_REACH[role].value
        units = "yes" if role in UNIT_ROLES else "no"
        lines.append(f"| `{role.value}` | {REACH_MEANING[reach]} | {units} |")
    lines += ["", "## Permissions", "", "| permission | meaning | roles |", "|---|---|---|"]
    for permission in Permission:
        roles = ", ".join(f"`{r.value}`" for r in roles_with(permission))
        lines.append(f"| `{permission.value}` | {PERMISSION_DESCRIPTIONS[permission]} | {roles} |")
    lines += [
        "",
        "## Routes",
        "",
        "A tenant route (`<municipality_code>`) answers **404** when none of the caller's roles",
        "reaches that municipality (the same answer as for a municipality not on the platform),",
        "**403** when a role reaches it but lacks the permission, **401** without a valid token.",
        "A route of people's records (a `unit:` permission) answers **404** instead of 403: to",
        "a role that may not read them (oversight, the municipality admin) they do not exist.",
        "",
        "| method | path | requirement | roles allowed |",
        "|---|---|---|---|",
    ]
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        methods = ", ".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
        requirement = requirement_of(rule.endpoint, app)
        if requirement == PUBLIC:
            shown, allowed = "public", "anyone"
        elif isinstance(requirement, Permission):
            shown = f"`{requirement.value}`"
            allowed = ", ".join(f"`{r.value}`" for r in roles_with(requirement))
        else:
            shown, allowed = "**undeclared (closed)**", "nobody"
        lines.append(f"| {methods} | `{rule.rule}` | {shown} | {allowed} |")
    lines.append("")
    return "\n".join(lines)


__all__ = ["ROLE_PERMISSIONS", "render_permissions_page"]
