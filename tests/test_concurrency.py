"""Optimistic concurrency plumbing (docs/adr/0015): ETag / If-Match and the version column."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from kentra.platform.api.etags import etag, require_if_match, stale_form_version
from kentra.platform.units.models import Unit, UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode
from tests.tokens import TokenFactory


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        (None, 428),
        ('"6"', 412),
        ('W/"6"', 412),
        ("*", 412),
        ('"7"', None),
        ('"1", "7"', None),
        # If-Match compares strongly (RFC 9110 §13.1.1): a weak tag matches nothing.
        ('"1", W/"7"', 412),
    ],
)
def test_if_match_is_required_and_must_name_the_current_version(
    app: Flask, sent: str | None, status: int | None
) -> None:
    headers = {"If-Match": sent} if sent is not None else {}
    with app.test_request_context(headers=headers):
        if status is None:
            require_if_match(7)
        else:
            with pytest.raises(HTTPException) as refused:
                require_if_match(7)
            assert refused.value.code == status


def test_etag_and_form_version() -> None:
    assert etag(3) == '"3"'
    assert stale_form_version(None, 3)
    assert stale_form_version("2", 3)
    assert not stale_form_version(" 3 ", 3)


def test_the_version_column_catches_a_concurrent_update(
    engine: Engine, tenant_a: MunicipalityCode
) -> None:
    with tenant_session(engine, tenant_a) as session:
        unit_id = ensure_unit(
            session, centre="kk-concurrency", unit=None, kind=UnitKind.CENTRE, name="race"
        ).id
    try:
        with pytest.raises(StaleDataError), tenant_session(engine, tenant_a) as first:
            unit = first.get(Unit, unit_id)
            assert unit is not None
            # Someone else saves in between: the version moves on.
            with tenant_session(engine, tenant_a) as second:
                second.execute(
                    update(Unit).where(Unit.id == unit_id).values(version=Unit.version + 1)
                )
            unit.name = "stale edit"
            first.flush()
    finally:
        with tenant_session(engine, tenant_a) as session:
            session.execute(delete(Unit).where(Unit.id == unit_id))


def test_a_stale_update_at_flush_is_a_412_problem(tokens: TokenFactory) -> None:
    from kentra.auth.flask import public
    from kentra.platform.app.factory import create_app

    fresh = create_app(jwks=tokens.jwks)

    @fresh.get("/race")
    @public
    def race() -> str:
        raise StaleDataError("UPDATE statement on table 'units' expected to update 1 row(s)")

    response = fresh.test_client().get("/race")
    assert response.status_code == 412
    assert response.mimetype == "application/problem+json"
    assert "changed since you read it" in response.get_json()["detail"]
