"""Users as the token endpoint sees them: credentials, and what goes into their tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert
from werkzeug.security import check_password_hash, generate_password_hash

from kentra.auth.issuer.clients import Client
from kentra.auth.issuer.models import (
    IdentityGroup,
    IdentityGroupMember,
    IdentityOrganization,
    IdentityOrganizationMember,
    IdentityUser,
    IdentityUserRole,
)
from kentra.auth.roles import Profession, Role


@dataclass(frozen=True)
class Account:
    """A user with everything the token layout needs (auth/claims.py)."""

    id: uuid.UUID
    username: str
    email: str | None
    first_name: str
    last_name: str
    enabled: bool
    region: str | None
    profession: Profession | None
    roles: tuple[Role, ...]
    organizations: tuple[str, ...]  # aliases "m-<code>"
    groups: tuple[str, ...]  # full paths

    @property
    def profile_complete(self) -> bool:
        """Whether the account has what Keycloak's user profile requires of a user (the realm
        export: e-mail, first and last name). Keycloak's password grant refuses an account
        without them ("Account is not fully set up"); its browser login asks for them."""
        return bool(self.email and self.first_name and self.last_name)


def normalise_username(username: str) -> str:
    """Keycloak keeps usernames in lower case and without surrounding spaces."""
    return username.strip().lower()


def hash_password(password: str) -> str:
    return generate_password_hash(password)


@cache
def _decoy_hash() -> str:
    return generate_password_hash("decoy password, never matches anything")


@dataclass(frozen=True)
class StoredCredentials:
    user_id: uuid.UUID
    password_hash: str | None
    enabled: bool


def stored_credentials(conn: Connection, username: str) -> StoredCredentials | None:
    """What the database holds to check a password of ``username`` (None: no such user)."""
    row = conn.execute(
        select(IdentityUser.id, IdentityUser.password_hash, IdentityUser.enabled).where(
            IdentityUser.username == normalise_username(username)
        )
    ).one_or_none()
    return None if row is None else StoredCredentials(row.id, row.password_hash, row.enabled)


def check_credentials(stored: StoredCredentials | None, password: str) -> uuid.UUID | None:
    """The user's id when ``password`` is theirs and they are enabled, else None. The slow
    part (the password hash): callers hold no database connection while it runs.

    Unknown users, users without a password (invited) and disabled users cost one password
    check all the same, so the answer time does not tell which usernames exist.
    """
    if stored is None or stored.password_hash is None:
        check_password_hash(_decoy_hash(), password)
        return None
    if not check_password_hash(stored.password_hash, password) or not stored.enabled:
        return None
    return stored.user_id


def load_account(conn: Connection, user_id: uuid.UUID) -> Account | None:
    user = conn.execute(select(IdentityUser).where(IdentityUser.id == user_id)).one_or_none()
    if user is None:
        return None
    roles = conn.scalars(
        select(IdentityUserRole.role)
        .where(IdentityUserRole.user_id == user_id)
        .order_by(IdentityUserRole.role)
    ).all()
    organizations = conn.scalars(
        select(IdentityOrganization.alias)
        .join(
            IdentityOrganizationMember,
            IdentityOrganizationMember.organization_id == IdentityOrganization.id,
        )
        .where(IdentityOrganizationMember.user_id == user_id)
        .order_by(IdentityOrganization.alias)
    ).all()
    groups = conn.scalars(
        select(IdentityGroup.path)
        .join(IdentityGroupMember, IdentityGroupMember.group_id == IdentityGroup.id)
        .where(IdentityGroupMember.user_id == user_id)
        .order_by(IdentityGroup.path)
    ).all()
    return Account(
        id=user.id,
        username=user.username,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        enabled=user.enabled,
        region=user.region,
        profession=Profession(user.profession) if user.profession else None,
        roles=tuple(Role(role) for role in roles),
        organizations=tuple(organizations),
        groups=tuple(groups),
    )


def ensure_service_account(conn: Connection, client: Client) -> uuid.UUID:
    """The client's service-account user (Keycloak creates one per such client), with its
    roles; created on first use."""
    username = client.service_account_username
    conn.execute(
        insert(IdentityUser)
        .values(id=uuid.uuid4(), username=username, enabled=True, first_name="", last_name="")
        .on_conflict_do_nothing(index_elements=[IdentityUser.username])
    )
    user_id: uuid.UUID = conn.execute(
        select(IdentityUser.id).where(IdentityUser.username == username)
    ).scalar_one()
    for role in client.service_account_roles:
        conn.execute(
            insert(IdentityUserRole)
            .values(user_id=user_id, role=role)
            .on_conflict_do_nothing(
                index_elements=[IdentityUserRole.user_id, IdentityUserRole.role]
            )
        )
    return user_id
