"""Login sessions, authorization codes and refresh tokens.

Codes and refresh tokens are random strings handed to the client once; the database keeps only
their SHA-256. A code is single use: the first presentation by its client consumes it in one
``UPDATE … RETURNING``, so two concurrent presentations cannot both succeed. A second
presentation of a consumed one is treated as theft (RFC 6749 §10.5, RFC 9700 §4.14): every
refresh token of that login session and client is revoked. Refresh tokens are single use the
same way only when the realm revokes them on use (Keycloak's ``revokeRefreshToken``); otherwise,
as in the realm export, one stays usable until it expires or is revoked (``consumed_at`` is
then the time of its revocation: a logout, a disabled user, a replayed code).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from kentra.auth.issuer.models import GrantKind, IdentityGrant, IdentityLoginSession, IdentityUser
from kentra.platform.core.models import utcnow

CODE_LIFETIME = timedelta(seconds=60)
REFRESH_LIFETIME = timedelta(minutes=30)  # Keycloak's default SSO session idle
SESSION_LIFETIME = timedelta(hours=10)  # Keycloak's default SSO session max
# Expired rows are removed this long after they expire (kept a while for reuse detection).
PURGE_AFTER = timedelta(days=1)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class LoginSession:
    id: uuid.UUID
    user_id: uuid.UUID
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Grant:
    kind: GrantKind
    user_id: uuid.UUID
    client_id: str
    session_id: uuid.UUID | None
    scope: str
    redirect_uri: str | None
    code_challenge: str | None
    nonce: str | None
    expires_at: datetime


_GRANT_COLUMNS = (
    IdentityGrant.kind,
    IdentityGrant.user_id,
    IdentityGrant.client_id,
    IdentityGrant.session_id,
    IdentityGrant.scope,
    IdentityGrant.redirect_uri,
    IdentityGrant.code_challenge,
    IdentityGrant.nonce,
    IdentityGrant.expires_at,
)


# --- login sessions --------------------------------------------------------------------------


def start_session(conn: Connection, user_id: uuid.UUID) -> LoginSession:
    now = utcnow()
    purge_expired(conn, now)
    session = LoginSession(uuid.uuid4(), user_id, now, now + SESSION_LIFETIME)
    conn.execute(
        insert(IdentityLoginSession).values(
            id=session.id,
            user_id=user_id,
            created_at=session.created_at,
            expires_at=session.expires_at,
        )
    )
    return session


def active_session(conn: Connection, session_id: uuid.UUID) -> LoginSession | None:
    """The session if it has not ended or expired and its user is still enabled."""
    row = conn.execute(
        select(
            IdentityLoginSession.id,
            IdentityLoginSession.user_id,
            IdentityLoginSession.created_at,
            IdentityLoginSession.expires_at,
        )
        .join(IdentityUser, IdentityUser.id == IdentityLoginSession.user_id)
        .where(
            IdentityLoginSession.id == session_id,
            IdentityLoginSession.ended_at.is_(None),
            IdentityLoginSession.expires_at > utcnow(),
            IdentityUser.enabled,
        )
    ).one_or_none()
    return None if row is None else LoginSession(*row)


def end_session(conn: Connection, session_id: uuid.UUID) -> uuid.UUID | None:
    """End the session and revoke its codes and refresh tokens; its user if it was open."""
    user_id: uuid.UUID | None = conn.execute(
        update(IdentityLoginSession)
        .where(IdentityLoginSession.id == session_id, IdentityLoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .returning(IdentityLoginSession.user_id)
    ).scalar_one_or_none()
    revoke_session_grants(conn, session_id)
    return user_id


def end_user_sessions(conn: Connection, user_id: uuid.UUID) -> None:
    """End every session of the user and revoke all the user's codes and refresh tokens."""
    now = utcnow()
    conn.execute(
        update(IdentityLoginSession)
        .where(IdentityLoginSession.user_id == user_id, IdentityLoginSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    conn.execute(
        update(IdentityGrant)
        .where(IdentityGrant.user_id == user_id, IdentityGrant.consumed_at.is_(None))
        .values(consumed_at=now)
    )


# --- codes and refresh tokens ----------------------------------------------------------------


def issue_grant(
    conn: Connection,
    kind: GrantKind,
    *,
    user_id: uuid.UUID,
    client_id: str,
    session: LoginSession | None,
    scope: str,
    redirect_uri: str | None = None,
    code_challenge: str | None = None,
    nonce: str | None = None,
) -> tuple[str, datetime]:
    """A new code or refresh token (the clear value, returned once) and its expiry."""
    now = utcnow()
    lifetime = CODE_LIFETIME if kind is GrantKind.AUTHORIZATION_CODE else REFRESH_LIFETIME
    expires_at = now + lifetime
    if session is not None:
        expires_at = min(expires_at, session.expires_at)
    value = new_secret()
    conn.execute(
        insert(IdentityGrant).values(
            token_hash=digest(value),
            kind=kind,
            user_id=user_id,
            client_id=client_id,
            session_id=session.id if session else None,
            scope=scope,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            nonce=nonce,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return value, expires_at


def consume_grant(conn: Connection, kind: GrantKind, value: str, client_id: str) -> Grant | None:
    """Consume an unused code or refresh token of this client; None if there is none.

    Expiry is left to the caller, so that an expired grant is consumed all the same.
    """
    row = conn.execute(
        update(IdentityGrant)
        .where(
            IdentityGrant.token_hash == digest(value),
            IdentityGrant.kind == kind,
            IdentityGrant.client_id == client_id,
            IdentityGrant.consumed_at.is_(None),
        )
        .values(consumed_at=utcnow())
        .returning(*_GRANT_COLUMNS)
    ).one_or_none()
    return None if row is None else Grant(*row)


def find_grant(conn: Connection, kind: GrantKind, value: str, client_id: str) -> Grant | None:
    """An unused, unrevoked code or refresh token of this client, left usable; None if none."""
    row = conn.execute(
        select(*_GRANT_COLUMNS).where(
            IdentityGrant.token_hash == digest(value),
            IdentityGrant.kind == kind,
            IdentityGrant.client_id == client_id,
            IdentityGrant.consumed_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else Grant(*row)


def handle_replay(conn: Connection, kind: GrantKind, value: str, client_id: str) -> bool:
    """If this consumed grant is presented again, revoke the refresh tokens of its session
    for this client (those issued from it included). Whether it was a replay."""
    row = conn.execute(
        select(IdentityGrant.session_id, IdentityGrant.user_id).where(
            IdentityGrant.token_hash == digest(value),
            IdentityGrant.kind == kind,
            IdentityGrant.client_id == client_id,
            IdentityGrant.consumed_at.is_not(None),
        )
    ).one_or_none()
    if row is None:
        return False
    if row.session_id is not None:
        revoke_session_grants(conn, row.session_id, client_id)
    return True


def revoke_session_grants(
    conn: Connection, session_id: uuid.UUID, client_id: str | None = None
) -> None:
    conditions: list[Any] = [
        IdentityGrant.session_id == session_id,
        IdentityGrant.consumed_at.is_(None),
    ]
    if client_id is not None:
        conditions.append(IdentityGrant.client_id == client_id)
    conn.execute(update(IdentityGrant).where(*conditions).values(consumed_at=utcnow()))


def purge_expired(conn: Connection, now: datetime) -> None:
    """Remove grants and sessions that expired more than a day ago."""
    cutoff = now - PURGE_AFTER
    conn.execute(delete(IdentityGrant).where(IdentityGrant.expires_at < cutoff))
    conn.execute(delete(IdentityLoginSession).where(IdentityLoginSession.expires_at < cutoff))
