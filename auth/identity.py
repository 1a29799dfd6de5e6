"""The identity provider's admin side, behind a Protocol: organizations, unit groups, users.

Two implementations: ``kentra.auth.issuer.admin.EmbeddedIdentityAdmin`` (the embedded issuer's
tables in the shared schema) and ``kentra.auth.keycloak_admin.KeycloakIdentityAdmin``
(python-keycloak against Keycloak's admin REST API). Every method is idempotent: doing again
what is already done is not an error.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from kentra.auth.claims import organization_alias
from kentra.auth.principal import UnitPath
from kentra.auth.roles import MUNICIPALITY_ROLES, Profession, Role


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
    # Keycloak's user profile requires both before the user can log in (split_full_name).
    first_name: str = ""
    last_name: str = ""
    # Set for embedded development users only; real users are invited and set their own.
    password: str | None = None

    @property
    def managing_municipality(self) -> str | None:
        """The municipality on whose behalf the user is written: the one of the unit or the
        organization the spec names (None for platform, ministry and regional users)."""
        if self.unit is not None:
            return self.unit.municipality_code
        return self.municipality_code


# Keycloak's user-profile validator ``person-name-prohibited-characters``, which the realm
# export puts on ``firstName`` and ``lastName``, refuses a name holding any of these, a control
# character or a line or paragraph separator (``PersonNameProhibitedCharactersValidator``'s
# ``\v`` and ``\p{Cntrl}``): the whole user is refused.
PERSON_NAME_PROHIBITED = frozenset('<>&"$%!#?§;*~/\\|^=[]{}()\u2028\u2029')


def _refused_in_names(character: str) -> bool:
    return character in PERSON_NAME_PROHIBITED or unicodedata.category(character) == "Cc"


def person_name_allowed(name: str) -> bool:
    """Whether Keycloak's user profile accepts ``name`` as a first or last name."""
    return not any(_refused_in_names(c) for c in name)


def split_full_name(full_name: str) -> tuple[str, str]:
    """(first name, last name) of a name as typed in one field: the first word is the given
    name, the rest the surname, as Greek forms write a name ("Μαρία Παπαδοπούλου").

    Keycloak's user profile requires both names (without them the password grant answers
    "Account is not fully set up" and a browser login asks for them), and refuses a name with
    one of ``PERSON_NAME_PROHIBITED``: those characters become spaces, and runs of spaces one.
    Known limits (docs/adr/0027): a compound given name ("Άννα Μαρία Παπαδοπούλου") puts its
    second part in the surname, and a single word gives no surname (Keycloak asks for it at the
    first login); the user corrects either in Keycloak's account console, and the platform
    never overwrites a name the account already has.
    """
    cleaned = "".join(" " if _refused_in_names(c) else c for c in full_name)
    first, _, last = " ".join(cleaned.split()).partition(" ")
    return first, last


class ForeignAccount(Exception):
    """The username or e-mail names an existing account that the municipality may not manage.

    A municipality may create a user, or change one that belongs to its own organization alone
    and holds only municipality roles. Any other account (another municipality's, or one with a
    platform, ministry or regional role, or a privilege outside the platform's roles) is left
    untouched: moving it would take it over (docs/adr/0016). The message names no municipality;
    it is for logs and audit, callers show their own.
    """


@dataclass(frozen=True)
class ExistingAccess:
    """What an existing account holds, as far as a municipality managing it is concerned."""

    organizations: frozenset[str]  # aliases of the organizations the user belongs to
    roles: frozenset[str]  # ``kentra-api`` client roles
    groups: frozenset[str]  # full paths of the groups the user belongs to
    # Anything else: realm roles beyond the default, other clients' roles, a service account.
    other_privileges: bool = False

    @classmethod
    def of(
        cls,
        organizations: Iterable[str],
        roles: Iterable[str],
        groups: Iterable[str],
        *,
        other_privileges: bool = False,
    ) -> ExistingAccess:
        return cls(frozenset(organizations), frozenset(roles), frozenset(groups), other_privileges)


def managed_by(access: ExistingAccess, municipality_code: str) -> bool:
    """Whether the municipality may manage (re-scope, disable) an account holding ``access``:
    no organization but its own, no role but municipality roles, no group outside its own
    group tree, nothing else. An account holding nothing at all (an invitation that failed
    half-way) qualifies, so that a retry completes it."""
    alias = organization_alias(municipality_code)
    root = "/" + alias
    allowed_roles = {role.value for role in MUNICIPALITY_ROLES}
    return (
        not access.other_privileges
        and access.organizations <= {alias}
        and access.roles <= allowed_roles
        and all(path == root or path.startswith(root + "/") for path in access.groups)
    )


def check_managed_by(access: ExistingAccess | None, municipality_code: str) -> None:
    """Raise :class:`ForeignAccount` unless there is no account or the municipality manages it."""
    if access is not None and not managed_by(access, municipality_code):
        raise ForeignAccount("the account exists outside the municipality's management")


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

    def check_user(self, user: UserSpec) -> None:
        """Raise :class:`ForeignAccount` when the spec names a municipality and its username or
        e-mail already belongs to an account that municipality may not manage (see
        :func:`managed_by`; an e-mail used by an account with another username counts as such:
        no silent merge). Changes nothing. For callers that must refuse before doing other
        work (onboarding approval checks before it provisions the tenant)."""
        ...

    def ensure_user(self, user: UserSpec, *, exclusive: bool = False) -> str:
        """Create (or, without a password, invite) the user with role and scope; return its id.

        When the spec names a municipality, the existing account must be one that municipality
        manages, else :class:`ForeignAccount` is raised and nothing changes (``check_user``).

        By default the role, memberships and the spec's region and profession are added:
        whatever else the user has is kept (the first municipality admin of onboarding,
        development users). An existing user keeps its e-mail and the names it has, and gets
        the spec's names where it has none (the user may have corrected them in Keycloak's
        account console).

        With ``exclusive=True`` the user ends with exactly the spec's ``kentra-api`` client
        role, exactly the spec's organization membership when the spec names one (through
        ``municipality_code`` or ``unit``; a spec naming none leaves the memberships as they
        are), exactly the spec's unit group among the unit groups (the groups under
        ``/m-…``; none when the spec has no unit), and exactly the spec's region and
        profession (none where the spec has none). The other roles, ``m-<code>`` organization
        memberships and unit-group memberships are removed. For users whose role and unit
        follow a record that changes, such as a staff member moved to another unit or no
        longer a centre's head (least privilege). Repeating it changes nothing.
        """
        ...

    def disable_user(self, username: str, *, municipality_code: str | None = None) -> None:
        """Disable the user so that no new token is issued; unknown users are not an error.

        With ``municipality_code`` (a municipality offboarding its staff), only an account that
        municipality manages is disabled; any other raises :class:`ForeignAccount` and stays as
        it is. None is for the platform's own callers."""
        ...


__all__ = [
    "PERSON_NAME_PROHIBITED",
    "ExistingAccess",
    "ForeignAccount",
    "IdentityAdmin",
    "UserSpec",
    "check_managed_by",
    "managed_by",
    "organization_alias",
    "person_name_allowed",
    "split_full_name",
]
