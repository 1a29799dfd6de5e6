"""Issue 10, §6: ``If-Match: W/"1"`` was accepted. If-Match uses the strong comparison (RFC
9110 §13.1.1): a weak validator never matches, so the edit is a 412 and nothing changes. The
attacker's requests go to real endpoints: a unit's edit and a regulation's approval. A strong
tag, alone or in a list, still works.

Scratch tenant of this module: 3101 (Δελφοί); dropped at the end.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from kentra.auth.roles import Role
from kentra.platform.units.models import Unit, UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.provisioning import create_tenant
from tests.conftest import drop_tenant
from tests.pdfs import plain_pdf
from tests.tokens import TokenFactory

CODE = "3101"
CENTRE = "kk-delfon"
UNITS = f"/api/v1/municipalities/{CODE}/units"
REGULATIONS = f"/api/v1/municipalities/{CODE}/regulations"


@pytest.fixture(scope="module")
def unit_ids(engine: Engine) -> Iterator[dict[str, int]]:
    create_tenant(engine, CODE, actor="test")
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        centre = ensure_unit(
            session, centre=CENTRE, unit=None, kind=UnitKind.CENTRE, name="Κέντρο Δελφών"
        )
        annex = ensure_unit(
            session, centre=CENTRE, unit="parartima-1", kind=UnitKind.ANNEX, name="Παράρτημα"
        )
        ids = {"centre": centre.id, "annex": annex.id}
    yield ids
    drop_tenant(engine, parse_municipality_code(CODE))


def admin(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE)


def postal_code(engine: Engine, unit_id: int) -> str | None:
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        unit = session.get(Unit, unit_id)
        assert unit is not None
        return unit.postal_code


def test_a_weak_etag_does_not_edit_a_unit(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, unit_ids: dict[str, int]
) -> None:
    target = f"{UNITS}/{unit_ids['annex']}"
    current = client.get(target, headers=admin(tokens)).headers["ETag"]
    before = postal_code(engine, unit_ids["annex"])
    for sent in (f"W/{current}", f'W/{current}, W/"0"', f"w/{current}"):
        response = client.patch(
            target, headers={**admin(tokens), "If-Match": sent}, json={"postal_code": "33054"}
        )
        assert response.status_code == 412, sent
        assert postal_code(engine, unit_ids["annex"]) == before


def test_a_strong_etag_alone_or_in_a_list_edits_a_unit(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, unit_ids: dict[str, int]
) -> None:
    target = f"{UNITS}/{unit_ids['annex']}"
    current = client.get(target, headers=admin(tokens)).headers["ETag"]
    alone = client.patch(
        target, headers={**admin(tokens), "If-Match": current}, json={"postal_code": "33054"}
    )
    assert alone.status_code == 200, alone.get_json()
    assert postal_code(engine, unit_ids["annex"]) == "33054"
    newer = alone.headers["ETag"]
    listed = client.patch(
        target,
        headers={**admin(tokens), "If-Match": f'"999", W/"1", {newer}'},
        json={"postal_code": "33055"},
    )
    assert listed.status_code == 200, listed.get_json()
    assert postal_code(engine, unit_ids["annex"]) == "33055"


def test_a_weak_etag_does_not_approve_a_regulation(
    client: FlaskClient, tokens: TokenFactory, unit_ids: dict[str, int]
) -> None:
    boundary, body = encode_multipart(
        MultiDict(
            {
                "centre_id": str(unit_ids["centre"]),
                "effective_date": "2025-04-01",
                "file": FileStorage(io.BytesIO(plain_pdf()), "kanonismos.pdf"),
            }
        )
    )
    created = client.post(
        REGULATIONS,
        data=body,
        headers=admin(tokens),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert created.status_code == 201, created.get_json()
    version = f"{REGULATIONS}/{created.get_json()['id']}"
    head = tokens.headers(Role.CENTRE_HEAD, municipality=CODE, groups=[f"/m-{CODE}/{CENTRE}"])
    weak = client.post(
        f"{version}/approve", headers={**head, "If-Match": f"W/{created.headers['ETag']}"}
    )
    assert weak.status_code == 412
    assert client.get(version, headers=head).get_json()["status"] == "draft"
    strong = client.post(
        f"{version}/approve", headers={**head, "If-Match": created.headers["ETag"]}
    )
    assert strong.status_code == 200
    assert strong.get_json()["status"] == "approved"
