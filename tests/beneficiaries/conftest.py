"""Fixtures of the Beneficiaries Registry's tests (see ``desk.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete

from kentra.platform.audit.models import AuditEvent
from kentra.platform.beneficiaries.models import Beneficiary
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from tests.beneficiaries.desk import CENTRE, CODE, Desk
from tests.helpers import centre_with_units, module_tenant
from tests.tokens import TokenFactory


@pytest.fixture(scope="module")
def tenant(engine: Engine) -> Iterator[MunicipalityCode]:
    with module_tenant(engine, CODE) as code:
        yield code


@pytest.fixture(scope="module")
def units(engine: Engine, tenant: MunicipalityCode) -> dict[str, int]:
    return centre_with_units(engine, tenant, CENTRE, "kk-messinis")


@pytest.fixture
def desk(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, units: dict[str, int]
) -> Iterator[Desk]:
    """The desk; the registry and its audit rows are emptied after the test."""
    yield Desk(client, engine, tokens, units)
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        session.execute(delete(Beneficiary))
        session.execute(delete(AuditEvent).where(AuditEvent.action.startswith("beneficiaries.")))
