"""Fixtures the staff tests share: the e-mails a test invites, and the clean-up after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, delete

from kentra.auth.issuer.models import IdentityUser
from kentra.platform.audit.models import AuditEvent
from kentra.platform.staff.models import StaffMember
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode


@pytest.fixture
def emails() -> list[str]:
    """E-mails used by a test (they become usernames when invited)."""
    return []


@pytest.fixture
def staff_cleaned(engine: Engine, tenant: MunicipalityCode, emails: list[str]) -> Iterator[None]:
    """After the test: the module tenant's staff and audit rows, and the users it invited."""
    yield
    with tenant_session(engine, tenant) as session:
        session.execute(delete(StaffMember))
        session.execute(delete(AuditEvent))
    with engine.begin() as conn:
        conn.execute(delete(IdentityUser).where(IdentityUser.username.in_(emails)))
