"""The embedded issuer's tables, in the shared schema (prefix ``identity_``).

They hold what Keycloak's realm holds for the platform: organizations (one per municipality),
unit groups, users with their client roles and attributes, login sessions, the grants the
token endpoint hands out (authorization codes and refresh tokens, stored as SHA-256 hashes),
and the login failures of brute-force detection.
No native enum types: choices are strings with check constraints.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Any

from sqlalchemy import CHAR, Boolean, DateTime, ForeignKey, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, MappedColumn, mapped_column

from kentra.auth.roles import Profession, Role
from kentra.platform.core.models import CreatedAt, IdentityKey, SharedBase, string_enum

# Keycloak's ids: random UUIDs, made by the application.
UuidKey = Annotated[uuid.UUID, mapped_column(Uuid, primary_key=True, default=uuid.uuid4)]


def _belongs_to(target: str, **options: Any) -> MappedColumn[Any]:
    """A reference to the row this one belongs to (``shared.<table>.id``): deleted with it.
    ``options`` as for ``mapped_column`` (``primary_key``, ``index``…)."""
    return mapped_column(ForeignKey(f"shared.{target}.id", ondelete="CASCADE"), **options)


class GrantKind(enum.StrEnum):
    AUTHORIZATION_CODE = "authorization_code"
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a kind of grant


class IdentityOrganization(SharedBase):
    """A Keycloak organization: one per municipality, alias ``m-<code>``."""

    __tablename__ = "identity_organizations"

    id: Mapped[UuidKey]
    alias: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]


class IdentityGroup(SharedBase):
    """A group of the tree ``/m-<code>/<centre>/<unit>``; ``path`` is what tokens carry."""

    __tablename__ = "identity_groups"

    id: Mapped[UuidKey]
    path: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    organization_id: Mapped[uuid.UUID] = _belongs_to("identity_organizations", index=True)
    parent_id: Mapped[uuid.UUID | None] = _belongs_to("identity_groups", index=True)
    created_at: Mapped[CreatedAt]


class IdentityUser(SharedBase):
    """A user. Without ``password_hash`` the user cannot log in (invited, not yet set up)."""

    __tablename__ = "identity_users"

    id: Mapped[UuidKey]
    # Lower case, like Keycloak's usernames.
    username: Mapped[str] = mapped_column(String(255), unique=True)
    email: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    first_name: Mapped[str] = mapped_column(Text, default="")
    last_name: Mapped[str] = mapped_column(Text, default="")
    region: Mapped[str | None] = mapped_column(String(4))
    profession: Mapped[Profession | None] = mapped_column(
        string_enum(Profession, "identity_profession", 32)
    )
    created_at: Mapped[CreatedAt]


class IdentityUserRole(SharedBase):
    """A client role of ``kentra-api`` held by a user."""

    __tablename__ = "identity_user_roles"

    user_id: Mapped[uuid.UUID] = _belongs_to("identity_users", primary_key=True)
    role: Mapped[Role] = mapped_column(string_enum(Role, "identity_role", 32), primary_key=True)


class IdentityOrganizationMember(SharedBase):
    __tablename__ = "identity_organization_members"

    organization_id: Mapped[uuid.UUID] = _belongs_to("identity_organizations", primary_key=True)
    user_id: Mapped[uuid.UUID] = _belongs_to("identity_users", primary_key=True, index=True)


class IdentityGroupMember(SharedBase):
    __tablename__ = "identity_group_members"

    group_id: Mapped[uuid.UUID] = _belongs_to("identity_groups", primary_key=True)
    user_id: Mapped[uuid.UUID] = _belongs_to("identity_users", primary_key=True, index=True)


class IdentityLoginSession(SharedBase):
    """A login (Keycloak's user session): the ``sid`` of tokens; logout ends it."""

    __tablename__ = "identity_login_sessions"

    id: Mapped[UuidKey]
    user_id: Mapped[uuid.UUID] = _belongs_to("identity_users", index=True)
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdentityGrant(SharedBase):
    """An authorization code or a refresh token: only its SHA-256 is stored. Single use:
    ``consumed_at`` is set by the first presentation (refresh tokens rotate)."""

    __tablename__ = "identity_grants"

    id: Mapped[IdentityKey]
    token_hash: Mapped[str] = mapped_column(CHAR(64), unique=True)
    kind: Mapped[GrantKind] = mapped_column(string_enum(GrantKind, "identity_grant_kind", 24))
    user_id: Mapped[uuid.UUID] = _belongs_to("identity_users", index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[uuid.UUID | None] = _belongs_to("identity_login_sessions", index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    redirect_uri: Mapped[str | None] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    nonce: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdentityLoginFailure(SharedBase):
    """Keycloak's login failures of one username (brute-force detection): how many failures
    in a row, the last one, and until when logins are refused. The username is stored as a
    keyed hash (HMAC with the app's secret key), never as typed; unknown usernames are
    counted too, so a lockout does not tell which usernames exist."""

    __tablename__ = "identity_login_failures"

    username_hash: Mapped[str] = mapped_column(CHAR(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
