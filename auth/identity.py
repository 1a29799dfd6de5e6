"""The identity provider's admin side, behind a Protocol: organizations, unit groups, users.

Two implementations: ``kentra.auth.issuer.admin.EmbeddedIdentityAdmin`` (the embedded issuer's
tables in the shared schema) and ``kentra.auth.keycloak_admin.KeycloakIdentityAdmin``
(python-keycloak against Keycloak's admin REST API). Every method is idempotent: doing again
what is already done is not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kentra.auth.claims import organization_alias
from kentra.auth.principal import UnitPath
from kentra.auth.roles import Profession, Role


@dataclass(frozen=True)
class UserSpec:
    """A user to create or invite, with one role and its scope."""

    username: str
    email: str
    role: Role
    municipality_code: str | None = None  # organization membership (municipality roles)
    unit: UnitPath | None = None  # unit group membership (centre heads, staff)
    region: str | None = None  # NUTS 2 code (regional officers)
    profession: Profession | None = None  # staff
    first_name: str = ""
    last_name: str = ""
    # Set for embedded development users only; real users are invited and set their own.
    password: str | None = None


class IdentityAdmin(Protocol):
    def ensure_organization(self, municipality_code: str, name: str) -> str:
        """Create the municipality's organization (alias ``m-<code>``) if missing; return its id."""
        ...

    def remove_organization(self, municipality_code: str) -> None:
        """Delete the organization if it exists (compensation when provisioning fails)."""
        ...

    def ensure_unit_group(self, unit: UnitPath, name: str) -> str:
        """Create the unit's group (and its centre's parent group) if missing; return its id."""
        ...

    def ensure_user(self, user: UserSpec, *, exclusive: bool = False) -> str:
        """Create (or, without a password, invite) the user with role and scope; return its id.

        By default the role and memberships are added: whatever else the user has is kept
        (the first municipality admin of onboarding, development users).

        With ``exclusive=True`` the user ends with exactly the spec's ``kentra-api`` client
        role, exactly the spec's organization membership when the spec names one (through
        ``municipality_code`` or ``unit``; a spec naming none leaves the memberships as they
        are), and exactly the spec's unit group among the unit groups (the groups under
        ``/m-…``; none when the spec has no unit). The other roles, ``m-<code>`` organization
        memberships and unit-group memberships are removed. For users whose role and unit
        follow a record that changes, such as a staff member moved to another unit or no
        longer a centre's head (least privilege). Repeating it changes nothing.
        """
        ...

    def disable_user(self, username: str) -> None:
        """Disable the user so that no new token is issued; unknown users are not an error."""
        ...


__all__ = ["IdentityAdmin", "UserSpec", "organization_alias"]
