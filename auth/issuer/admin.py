"""``IdentityAdmin`` for the embedded issuer: its tables in the shared schema.

Transactions: the constructor takes an ``Engine`` or a ``Connection``.

- With an **Engine**, every call runs in its own transaction and is committed when it returns.
- With a **Connection**, every call runs on it, inside the caller's transaction, and nothing is
  committed here (for callers that want identity objects to commit or roll back with their own
  work).

Tenant provisioning passes an Engine, as it must for Keycloak too: the organization is committed
on its own, and ``create_tenant`` removes it again if the database step fails (compensation).

Every method is idempotent and safe under concurrency (``INSERT … ON CONFLICT``): a repeat
returns the same id and creates nothing new.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.security import check_password_hash

from kentra.auth.claims import ORGANIZATION_PREFIX, organization_alias
from kentra.auth.identity import (
    ExistingAccess,
    ForeignAccount,
    UserSpec,
    check_managed_by,
    person_name_allowed,
)
from kentra.auth.issuer import grants
from kentra.auth.issuer.accounts import hash_password, load_account, normalise_username
from kentra.auth.issuer.models import (
    IdentityGroup,
    IdentityGroupMember,
    IdentityOrganization,
    IdentityOrganizationMember,
    IdentityUser,
    IdentityUserRole,
)
from kentra.auth.principal import UnitPath

log = logging.getLogger("kentra.auth.issuer")


class EmbeddedIdentityAdmin:
    """Organizations, unit groups and users of the embedded issuer (see the module docstring
    for the choice between an Engine and a Connection)."""

    def __init__(self, bind: Engine | Connection) -> None:
        self._bind = bind

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        if isinstance(self._bind, Connection):
            yield self._bind
        else:
            with self._bind.begin() as conn:
                yield conn

    # --- organizations and groups -------------------------------------------------------------

    def ensure_organization(self, municipality_code: str, name: str) -> str:
        with self._connection() as conn:
            return str(_ensure_organization(conn, organization_alias(municipality_code), name))

    def remove_organization(self, municipality_code: str) -> None:
        """Delete the organization, its groups and all memberships in them (users remain)."""
        with self._connection() as conn:
            conn.execute(
                delete(IdentityOrganization).where(
                    IdentityOrganization.alias == organization_alias(municipality_code)
                )
            )

    def ensure_unit_group(self, unit: UnitPath, name: str) -> str:
        """The unit's group; for an annex or mobile unit, its centre's group is created too.

        Like Keycloak's group tree, the path ``/m-<code>/<centre>/<unit>`` hangs under a
        top-level group ``/m-<code>``. ``name`` is the display name of the group asked for; a
        parent created on the way is named by its path segment until it is ensured itself.
        """
        with self._connection() as conn:
            return str(_ensure_unit_group(conn, unit, name))

    # --- users --------------------------------------------------------------------------------

    def check_user(self, user: UserSpec) -> None:
        """See ``kentra.auth.identity.IdentityAdmin.check_user``."""
        with self._connection() as conn:
            _check_managed(conn, user)

    def ensure_user(self, user: UserSpec, *, exclusive: bool = False) -> str:
        """Create the user, or bring an existing one up to ``user``; return its id.

        With a password, the password is set (development users). Without one, a new user is
        created enabled but with no usable password: an invitation. E-mail delivery is not part
        of the embedded issuer (Keycloak sends the "update password" e-mail in production), so
        an invited user of the embedded issuer cannot log in until a password is set.

        Roles, organization and group memberships are added; with ``exclusive`` the user's
        other roles, other organization memberships (when ``user`` names a municipality) and
        other unit-group memberships are removed, in the same transaction (see
        ``kentra.auth.identity.IdentityAdmin.ensure_user``). An existing user gets the spec's
        region and profession (with ``exclusive``, also none where the spec has none) and its
        names where it has none; its e-mail and the names it has are kept, as Keycloak's
        adapter does (the user may have corrected a name). A disabled user stays disabled. A
        name Keycloak's user profile refuses is a ``ValueError`` here too.

        A spec naming a municipality may only touch an account that municipality manages
        (``ForeignAccount`` otherwise, checked under the user row's lock, nothing written).
        """
        unit = user.unit
        municipality_code = user.municipality_code
        if unit is not None:
            if municipality_code not in (None, unit.municipality_code):
                raise ValueError("the user's unit lies outside the user's municipality")
            municipality_code = unit.municipality_code
        if not all(map(person_name_allowed, (user.first_name, user.last_name))):
            raise ValueError("a first or last name holds a character Keycloak refuses in names")
        username = normalise_username(user.username)
        profile = {
            "email": user.email or None,
            # Keycloak trims names (a blank one is none).
            "first_name": user.first_name.strip(),
            "last_name": user.last_name.strip(),
            "region": user.region,
            "profession": user.profession,
        }
        access = {"region": user.region, "profession": user.profession}
        changes: dict[str, object] = {
            # Filled in where empty, never replaced.
            "first_name": func.coalesce(
                func.nullif(IdentityUser.first_name, ""), profile["first_name"]
            ),
            "last_name": func.coalesce(
                func.nullif(IdentityUser.last_name, ""), profile["last_name"]
            ),
            **(access if exclusive else {k: v for k, v in access.items() if v is not None}),
        }
        with self._connection() as conn:
            _check_managed(conn, user)
            user_id = _update_existing_user(conn, username, changes, user.password)
            if user_id is None:
                user_id = conn.execute(
                    insert(IdentityUser)
                    .values(
                        id=uuid.uuid4(),
                        username=username,
                        enabled=True,
                        password_hash=hash_password(user.password) if user.password else None,
                        **profile,
                    )
                    .on_conflict_do_nothing(index_elements=[IdentityUser.username])
                    .returning(IdentityUser.id)
                ).scalar_one_or_none()
                if user_id is None:  # created concurrently since we looked: check it again
                    _check_managed(conn, user)
                    user_id = _update_existing_user(conn, username, changes, user.password)
                    assert user_id is not None
                else:
                    log.info("identity.user_created", extra={"user_id": str(user_id)})
            conn.execute(
                insert(IdentityUserRole)
                .values(user_id=user_id, role=user.role)
                .on_conflict_do_nothing()
            )
            organization_id: uuid.UUID | None = None
            if municipality_code is not None:
                organization_id = _ensure_organization(
                    conn, organization_alias(municipality_code), None
                )
                conn.execute(
                    insert(IdentityOrganizationMember)
                    .values(organization_id=organization_id, user_id=user_id)
                    .on_conflict_do_nothing()
                )
            group_id: uuid.UUID | None = None
            if unit is not None:
                group_id = _ensure_unit_group(conn, unit, None)
                conn.execute(
                    insert(IdentityGroupMember)
                    .values(group_id=group_id, user_id=user_id)
                    .on_conflict_do_nothing()
                )
            if exclusive:
                _remove_other_access(conn, user_id, user, group_id)
            return str(user_id)

    def disable_user(self, username: str, *, municipality_code: str | None = None) -> None:
        """Disable the user, end its login sessions and revoke its codes and refresh tokens.

        Access tokens already issued stay valid until they expire (five minutes), as with
        Keycloak. With ``municipality_code``, only an account the municipality manages
        (``ForeignAccount`` otherwise)."""
        with self._connection() as conn:
            if municipality_code is not None:
                found = conn.execute(
                    select(IdentityUser.id)
                    .where(IdentityUser.username == normalise_username(username))
                    .with_for_update()
                ).scalar_one_or_none()
                if found is not None:
                    check_managed_by(_existing_access(conn, found), municipality_code)
            user_id = conn.execute(
                update(IdentityUser)
                .where(IdentityUser.username == normalise_username(username))
                .values(enabled=False)
                .returning(IdentityUser.id)
            ).scalar_one_or_none()
            if user_id is not None:
                grants.end_user_sessions(conn, user_id)
                log.info("identity.user_disabled", extra={"user_id": str(user_id)})


def _check_managed(conn: Connection, user: UserSpec) -> None:
    """``ForeignAccount`` unless the spec's municipality (if any) manages the account its
    username names, and no account with another username has its e-mail. Locks the rows."""
    code = user.managing_municipality
    if code is None:
        return
    username = normalise_username(user.username)
    same = [IdentityUser.username == username]
    if user.email:
        same.append(func.lower(IdentityUser.email) == user.email.lower())
    for user_id, found_username in conn.execute(
        select(IdentityUser.id, IdentityUser.username).where(or_(*same)).with_for_update()
    ):
        if found_username != username:
            raise ForeignAccount("another account has the e-mail address")
        check_managed_by(_existing_access(conn, user_id), code)


def _existing_access(conn: Connection, user_id: uuid.UUID) -> ExistingAccess:
    account = load_account(conn, user_id)
    assert account is not None  # the caller has just found (and locked) the row
    # The embedded issuer knows no privilege beyond the kentra-api roles.
    return ExistingAccess.of(
        account.organizations, [role.value for role in account.roles], account.groups
    )


def _remove_other_access(
    conn: Connection, user_id: uuid.UUID, user: UserSpec, group_id: uuid.UUID | None
) -> None:
    """Remove the roles and unit-group memberships of ``user_id`` other than the spec's. No
    other organization is left: a municipality's spec never reaches an account that has one
    (``ForeignAccount``), and a spec naming none leaves the memberships as they are."""
    roles = conn.execute(
        delete(IdentityUserRole)
        .where(IdentityUserRole.user_id == user_id, IdentityUserRole.role != user.role)
        .returning(IdentityUserRole.role)
    ).scalars()
    removed: dict[str, object] = {"roles": sorted(role.value for role in roles)}
    unit_groups = select(IdentityGroup.id).where(
        IdentityGroup.path.startswith("/" + ORGANIZATION_PREFIX, autoescape=True)
    )
    if group_id is not None:
        unit_groups = unit_groups.where(IdentityGroup.id != group_id)
    groups = conn.execute(
        delete(IdentityGroupMember)
        .where(
            IdentityGroupMember.user_id == user_id, IdentityGroupMember.group_id.in_(unit_groups)
        )
        .returning(IdentityGroupMember.group_id)
    ).scalars()
    removed["groups"] = sorted(str(g) for g in groups)
    if any(removed.values()):
        # Ids and role names only: the username is often an e-mail address.
        log.info("identity.user_access_removed", extra={"user_id": str(user_id), **removed})


def _update_existing_user(
    conn: Connection, username: str, changes: Mapping[str, object], password: str | None
) -> uuid.UUID | None:
    """Apply ``changes`` (and the password, if given) to an existing user; None if there is
    no such user."""
    row = conn.execute(
        select(IdentityUser.id, IdentityUser.password_hash)
        .where(IdentityUser.username == username)
        .with_for_update()
    ).one_or_none()
    if row is None:
        return None
    values = dict(changes)
    # Hash again only when the password changes (hashing is deliberately slow).
    if password and not (row.password_hash and check_password_hash(row.password_hash, password)):
        values["password_hash"] = hash_password(password)
    conn.execute(update(IdentityUser).where(IdentityUser.id == row.id).values(**values))
    user_id: uuid.UUID = row.id
    return user_id


def _ensure_organization(conn: Connection, alias: str, name: str | None) -> uuid.UUID:
    """Create the organization if missing; ``name`` (when given) replaces the current name."""
    values = {"alias": alias, "name": name or alias}
    return _ensure_row(conn, IdentityOrganization, IdentityOrganization.alias, values, name)


def _ensure_group(
    conn: Connection,
    path: str,
    name: str | None,
    organization_id: uuid.UUID,
    parent_id: uuid.UUID | None,
) -> uuid.UUID:
    values = {
        "path": path,
        "name": name or path.rsplit("/", 1)[-1],
        "organization_id": organization_id,
        "parent_id": parent_id,
    }
    return _ensure_row(conn, IdentityGroup, IdentityGroup.path, values, name)


def _ensure_row(
    conn: Connection,
    model: type[IdentityOrganization | IdentityGroup],
    key: InstrumentedAttribute[str],
    values: Mapping[str, object],
    name: str | None,
) -> uuid.UUID:
    """The id of the organization or group whose unique ``key`` is ``values[key]``: inserted
    with ``values`` if missing, its name replaced by ``name`` when given. ``ON CONFLICT`` keeps
    it safe under concurrency; a row that conflicts without a new name returns nothing, so
    it is read."""
    statement = insert(model).values(id=uuid.uuid4(), **values)
    upsert = (
        statement.on_conflict_do_update(index_elements=[key], set_={"name": name})
        if name is not None
        else statement.on_conflict_do_nothing(index_elements=[key])
    )
    row_id: uuid.UUID | None = conn.execute(upsert.returning(model.id)).scalar_one_or_none()
    if row_id is None:
        row_id = conn.execute(select(model.id).where(key == values[key.key])).scalar_one()
    return row_id


def _ensure_unit_group(conn: Connection, unit: UnitPath, name: str | None) -> uuid.UUID:
    alias = ORGANIZATION_PREFIX + unit.municipality_code
    organization_id = _ensure_organization(conn, alias, None)
    root = _ensure_group(conn, f"/{alias}", None, organization_id, None)
    centre_path = str(UnitPath(unit.municipality_code, unit.centre))
    centre = _ensure_group(
        conn, centre_path, name if unit.unit is None else None, organization_id, root
    )
    if unit.unit is None:
        return centre
    return _ensure_group(conn, str(unit), name, organization_id, centre)
