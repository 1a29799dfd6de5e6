"""The Beneficiaries Registry's tests' desk: the module tenant as the people of its units reach
it over the API and the pages (``conftest.py`` makes it).

Municipality used by these tests and nowhere else: 4401 (Καλαμάτας), a tenant of each test
module, with a centre, its annex and mobile unit, a closed annex and a second centre; 7101 (a
session tenant) is the other municipality.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from stdnum import luhn
from werkzeug.test import TestResponse

from kentra.auth.roles import Role
from kentra.platform.audit.models import AuditEvent
from kentra.platform.beneficiaries.models import Beneficiary
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from tests.tokens import TokenFactory

CODE = "4401"
URL = f"/api/v1/municipalities/{CODE}/beneficiaries"
PAGES = f"/municipalities/{CODE}/beneficiaries"
OTHER = "7101"
CENTRE = "kk-kalamatas"


def amka_of(birth: str, serial: str = "0123") -> str:
    """A valid ΑΜΚΑ for a date written DDMMYY (the check digit computed)."""
    body = birth + serial
    return body + luhn.calc_check_digit(body)


@dataclass
class Desk:
    """The module tenant's registry as the people of its units reach it over the API: one
    fixture rather than the same four threaded through every test and helper."""

    client: FlaskClient
    engine: Engine
    tokens: TokenFactory
    units: dict[str, int]

    def staff(self, unit: str = "parartima-1", code: str = CODE) -> dict[str, str]:
        groups = [f"/m-{code}/{CENTRE}/{unit}"]
        return self.tokens.headers(Role.STAFF, municipality=code, groups=groups)

    def head(self, centre: str = CENTRE) -> dict[str, str]:
        groups = [f"/m-{CODE}/{centre}"]
        return self.tokens.headers(Role.CENTRE_HEAD, municipality=CODE, groups=groups)

    def person(self, **overrides: Any) -> dict[str, Any]:
        """A valid person of the annex; ``overrides`` replace fields (None leaves one out)."""
        body: dict[str, Any] = {
            "unit_id": self.units["annex"],
            "given_name": "Ευάγγελος",
            "family_name": "Παπαδόπουλος",
            "father_name": "Νικόλαος",
            "born_on": "1985-03-15",
            "sex": "male",
            "nationality": "GR",
            "residence_municipality_code": "4402",
            "phone": "6912345678",
            "amka": amka_of("150385"),
        }
        body.update(overrides)
        return {key: value for key, value in body.items() if value is not None}

    def register(self, headers: dict[str, str], body: dict[str, Any]) -> TestResponse:
        return self.client.post(URL, headers=headers, json=body)

    def registered(self, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        response = self.register(headers, body)
        assert response.status_code == 201, response.get_json()
        created: dict[str, Any] = response.get_json()
        return created

    def found(self, headers: dict[str, str], q: str | None = None) -> list[int]:
        response = self.client.get(URL, headers=headers, query_string={"q": q} if q else {})
        assert response.status_code == 200, response.get_json()
        return [p["id"] for p in response.get_json()]

    def people(self) -> int:
        with tenant_session(self.engine, parse_municipality_code(CODE)) as session:
            return session.scalar(select(func.count()).select_from(Beneficiary)) or 0

    def audit(self) -> list[tuple[str, str, str | None, dict[str, Any]]]:
        with tenant_session(self.engine, parse_municipality_code(CODE)) as session:
            rows = session.execute(
                select(
                    AuditEvent.action, AuditEvent.actor, AuditEvent.object_id, AuditEvent.details
                )
                .where(AuditEvent.action.startswith("beneficiaries."))
                .order_by(AuditEvent.id)
            )
            return [(r.action, r.actor, r.object_id, r.details) for r in rows]
