"""Operating regulations through the API: upload (type and size checked), the flow draft →
approved → submitted → acknowledged or returned, ETag / If-Match, the ministry's list of
current regulations with its region filter, and the zip bundle.

Two scratch tenants of this module: 4001 (Τρίπολη, Peloponnese, EL65) and 4601 (Αμαρούσιο,
Attica, EL30); each test makes centres of its own. Both are dropped at the end with their
rows of the shared schema.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from kentra.auth.roles import Role
from kentra.platform.audit.models import AuditEvent
from kentra.platform.compliance.models import CentreCompliance
from kentra.platform.core.config import Settings
from kentra.platform.regulations.models import RegulationSubmission, RegulationVersion
from kentra.platform.units.models import UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.provisioning import create_tenant
from tests.conftest import drop_tenant
from tests.pdfs import plain_pdf
from tests.tokens import TokenFactory

PELOPONNESE, ATTICA = "4001", "4601"
CODES = (PELOPONNESE, ATTICA)
REGIONS = {PELOPONNESE: "EL65", ATTICA: "EL30"}


def pdf(text: str = "regulation") -> bytes:
    """A one-page PDF that parses and holds nothing active, unique by its title."""
    return plain_pdf(text)


@pytest.fixture(scope="module")
def tenants(engine: Engine) -> Iterator[None]:
    for code in CODES:
        create_tenant(engine, code, actor="test")
    yield
    with engine.begin() as conn:
        conn.execute(
            delete(RegulationSubmission).where(RegulationSubmission.municipality_code.in_(CODES))
        )
        conn.execute(delete(CentreCompliance).where(CentreCompliance.municipality_code.in_(CODES)))
    for code in CODES:
        drop_tenant(engine, parse_municipality_code(code))


@dataclass
class Centre:
    code: str
    id: int
    slug: str

    @property
    def base(self) -> str:
        return f"/api/v1/municipalities/{self.code}/regulations"


def make_centre(engine: Engine, code: str = PELOPONNESE) -> Centre:
    slug = f"kk-{uuid.uuid4().hex[:8]}"
    with tenant_session(engine, parse_municipality_code(code)) as session:
        unit = ensure_unit(
            session, centre=slug, unit=None, kind=UnitKind.CENTRE, name=f"Κέντρο {slug}"
        )
        return Centre(code, unit.id, slug)


@pytest.fixture
def centre(engine: Engine, tenants: None) -> Centre:
    return make_centre(engine)


class Actors:
    """Headers of the roles acting on a centre's regulation."""

    def __init__(self, tokens: TokenFactory, centre: Centre) -> None:
        self.tokens = tokens
        self.centre = centre

    def admin(self) -> dict[str, str]:
        return self.tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=self.centre.code)

    def head(self, slug: str | None = None) -> dict[str, str]:
        return self.tokens.headers(
            Role.CENTRE_HEAD,
            municipality=self.centre.code,
            groups=[f"/m-{self.centre.code}/{slug or self.centre.slug}"],
        )

    def staff(self) -> dict[str, str]:
        return self.tokens.headers(
            Role.STAFF,
            municipality=self.centre.code,
            groups=[f"/m-{self.centre.code}/{self.centre.slug}"],
        )

    def ministry(self) -> dict[str, str]:
        return self.tokens.headers(Role.MINISTRY_OFFICER)


@pytest.fixture
def actors(tokens: TokenFactory, centre: Centre) -> Actors:
    return Actors(tokens, centre)


def upload(
    client: FlaskClient,
    centre: Centre,
    headers: dict[str, str],
    *,
    content: bytes | None = None,
    filename: str = "kanonismos.pdf",
    effective_date: str = "2025-01-01",
    change_summary: str | None = None,
    content_type: str = "application/pdf",
) -> TestResponse:
    data: dict[str, Any] = {
        "centre_id": str(centre.id),
        "effective_date": effective_date,
        "file": FileStorage(
            io.BytesIO(pdf() if content is None else content), filename, content_type=content_type
        ),
    }
    if change_summary is not None:
        data["change_summary"] = change_summary
    return post_multipart(client, centre.base, data, headers)


def post_multipart(
    client: FlaskClient, url: str, data: dict[str, Any], headers: dict[str, str]
) -> TestResponse:
    """The body encoded in memory: the test client spools large bodies to a temporary file
    it never closes."""
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(
        url,
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def act(
    client: FlaskClient,
    centre: Centre,
    regulation_id: int,
    action: str,
    headers: dict[str, str],
    etag: str | None = "read",
    json: dict[str, Any] | None = None,
) -> TestResponse:
    """POST an action with the current ETag (``etag="read"``), a given one, or none."""
    if etag == "read":
        etag = client.get(f"{centre.base}/{regulation_id}", headers=headers).headers["ETag"]
    extra = {"If-Match": etag} if etag is not None else {}
    return client.post(
        f"{centre.base}/{regulation_id}/{action}", headers={**headers, **extra}, json=json
    )


def count_versions(engine: Engine, code: str = PELOPONNESE) -> int:
    with tenant_session(engine, parse_municipality_code(code)) as session:
        return session.scalar(select(func.count()).select_from(RegulationVersion)) or 0


def submitted(client: FlaskClient, actors: Actors, **kwargs: Any) -> int:
    """A version uploaded, approved by the centre's head and submitted: its id."""
    centre = actors.centre
    created = upload(client, centre, actors.admin(), **kwargs)
    assert created.status_code == 201, created.get_json()
    regulation_id = created.get_json()["id"]
    assert act(client, centre, regulation_id, "approve", actors.head()).status_code == 200
    assert act(client, centre, regulation_id, "submit", actors.admin()).status_code == 200
    return int(regulation_id)


# --- upload ---------------------------------------------------------------------------------


def test_the_first_upload_is_the_initial_draft_and_later_ones_amendments(
    client: FlaskClient, engine: Engine, actors: Actors, centre: Centre
) -> None:
    content = pdf()
    first = upload(client, centre, actors.admin(), content=content, change_summary="  ")
    assert first.status_code == 201
    body = first.get_json()
    assert body["kind"] == "initial"
    assert body["status"] == "draft"
    assert body["centre_id"] == centre.id
    assert body["change_summary"] == ""
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["size_bytes"] == len(content)
    assert first.headers["ETag"] == f'"{body["version"]}"'
    # A centre head may upload too.
    second = upload(
        client, centre, actors.head(), effective_date="2026-01-01", change_summary="Νέο ωράριο."
    )
    assert second.status_code == 201
    assert second.get_json()["kind"] == "amendment"
    listed = client.get(centre.base, headers=actors.staff())
    assert listed.status_code == 200
    ours = [v for v in listed.get_json() if v["centre_id"] == centre.id]
    assert [v["kind"] for v in ours] == ["amendment", "initial"]
    assert "content" not in ours[0]
    with tenant_session(engine, parse_municipality_code(centre.code)) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "regulation",
                AuditEvent.object_id == str(body["id"]),
            )
        ).all()
        details = session.scalars(
            select(AuditEvent.details).where(AuditEvent.object_id == str(body["id"]))
        ).all()
    assert actions == ["regulation.uploaded"]
    assert details == [{"centre_id": centre.id, "status": "draft"}]


def test_an_amendment_without_a_summary_is_refused(
    client: FlaskClient, engine: Engine, actors: Actors, centre: Centre
) -> None:
    assert upload(client, centre, actors.admin()).status_code == 201
    before = count_versions(engine)
    refused = upload(client, centre, actors.admin(), effective_date="2026-01-01")
    assert refused.status_code == 422
    problem = refused.get_json()
    assert problem["detail"].startswith("Η τροποποίηση χρειάζεται περίληψη της αλλαγής.")
    assert problem["errors"] == {"form": {"change_summary": [problem["detail"]]}}
    assert count_versions(engine) == before


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (b"GIF89a not a pdf at all %%EOF", "kanonismos.pdf", "application/pdf"),
        (b"%PDF-1.7\nbut it never ends properly\n", "kanonismos.pdf", "application/pdf"),
        (b"%PDF-1.7\n" + b"x" * 4000 + b"\n%%EOF\n" + b"y" * 4000, "k.pdf", "application/pdf"),
        (pdf(), "kanonismos.docx", "application/pdf"),
        (pdf(), ".pdf", "application/pdf"),
        (b"", "kanonismos.pdf", "application/pdf"),
    ],
    ids=["wrong-magic", "no-eof", "eof-not-at-end", "wrong-extension", "no-name", "empty"],
)
def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_saved(
    client: FlaskClient,
    engine: Engine,
    actors: Actors,
    centre: Centre,
    content: bytes,
    filename: str,
    content_type: str,
) -> None:
    before = count_versions(engine)
    refused = upload(
        client,
        centre,
        actors.admin(),
        content=content,
        filename=filename,
        content_type=content_type,
    )
    assert refused.status_code == 422
    detail = refused.get_json()["detail"]
    assert detail.startswith("Το αρχείο δεν είναι PDF: ανεβάστε τον κανονισμό ως αρχείο PDF")
    assert refused.get_json()["errors"] == {"files": {"file": [detail]}}
    assert count_versions(engine) == before


def test_a_declared_pdf_content_type_is_not_trusted(
    client: FlaskClient, actors: Actors, centre: Centre
) -> None:
    refused = upload(client, centre, actors.admin(), content=b"<html>%%EOF", filename="x.pdf")
    assert refused.status_code == 422
    # And a real PDF sent as octet-stream is fine: the bytes decide.
    accepted = upload(client, centre, actors.admin(), content_type="application/octet-stream")
    assert accepted.status_code == 201


def test_an_oversized_file_is_a_413_and_nothing_is_saved(
    client: FlaskClient, engine: Engine, actors: Actors, centre: Centre, small_upload_limit: int
) -> None:
    before = count_versions(engine)
    body = b"%PDF-1.7\n" + b"0" * small_upload_limit + b"\n%%EOF\n"
    refused = upload(client, centre, actors.admin(), content=body)
    assert refused.status_code == 413
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["detail"].startswith("Το αρχείο είναι μεγαλύτερο από")
    # Far above the limit: refused before the body is read (and before the tenant is looked up).
    huge = upload(client, centre, actors.admin(), content=b"%PDF-" + b"0" * 200_000 + b"%%EOF")
    assert huge.status_code == 413
    assert huge.get_json()["detail"].startswith("The request body is larger than")
    assert count_versions(engine) == before


def test_upload_endpoints_accept_bodies_above_the_general_request_limit(
    client: FlaskClient, app: Flask, actors: Actors, centre: Centre, settings: Settings
) -> None:
    general = app.config["MAX_CONTENT_LENGTH"]
    assert settings.max_upload_bytes > general
    big = plain_pdf(padding=general + 1000)
    accepted = upload(client, centre, actors.admin(), content=big)
    assert accepted.status_code == 201
    assert accepted.get_json()["size_bytes"] == len(big)
    # Other endpoints keep the general limit.
    other = client.post(
        f"{centre.base}/{accepted.get_json()['id']}/return",
        headers=actors.ministry(),
        data=b"x" * (general + 1),
        content_type="application/json",
    )
    assert other.status_code == 413


def test_upload_refusals_of_bad_fields(
    client: FlaskClient, engine: Engine, actors: Actors, centre: Centre, tenants: None
) -> None:
    annex_id = 0
    with tenant_session(engine, parse_municipality_code(centre.code)) as session:
        annex_id = ensure_unit(
            session, centre=centre.slug, unit="parartima", kind=UnitKind.ANNEX, name="Παράρτημα"
        ).id
    cases = [
        ({"effective_date": "31/01/2025"}, "form", "effective_date"),
        ({"centre_id": "abc"}, "form", "centre_id"),
        ({"centre_id": str(annex_id)}, "form", "centre_id"),  # an annex is not a centre
        ({"centre_id": "999999999"}, "form", "centre_id"),
        ({"unexpected": "x"}, "form", "unexpected"),
    ]
    for change, location, field in cases:
        data: dict[str, Any] = {
            "centre_id": str(centre.id),
            "effective_date": "2025-01-01",
            "file": (io.BytesIO(pdf()), "k.pdf"),
            **change,
        }
        response = client.post(
            centre.base, data=data, headers=actors.admin(), content_type="multipart/form-data"
        )
        assert response.status_code == 422, change
        assert field in response.get_json()["errors"][location], change
    missing_file = client.post(
        centre.base,
        data={"centre_id": str(centre.id), "effective_date": "2025-01-01"},
        headers=actors.admin(),
        content_type="multipart/form-data",
    )
    assert missing_file.status_code == 422
    assert "file" in missing_file.get_json()["errors"]["files"]
    listed = client.get(centre.base, headers=actors.admin()).get_json()
    assert [v for v in listed if v["centre_id"] == centre.id] == []


def test_a_closed_centre_takes_no_upload(
    client: FlaskClient, engine: Engine, actors: Actors, centre: Centre
) -> None:
    with tenant_session(engine, parse_municipality_code(centre.code)) as session:
        unit = ensure_unit(session, centre=centre.slug, unit=None, kind=UnitKind.CENTRE, name="x")
        unit.closed_on = unit.created_at.date()
    refused = upload(client, centre, actors.admin())
    assert refused.status_code == 422
    assert refused.get_json()["detail"].startswith("Δεν υπάρχει ανοιχτό Κέντρο")


def test_a_head_of_another_centre_cannot_upload_for_this_one(
    client: FlaskClient, actors: Actors, centre: Centre
) -> None:
    refused = upload(client, centre, actors.head("kk-allo"))
    assert refused.status_code == 403
    assert refused.get_json()["detail"].startswith("Ο ρόλος σας αφορά άλλο Κέντρο")


# --- the flow -------------------------------------------------------------------------------


def test_draft_approved_submitted_acknowledged(
    client: FlaskClient, engine: Engine, actors: Actors, centre: Centre
) -> None:
    created = upload(client, centre, actors.admin(), effective_date="2025-03-01")
    regulation_id = created.get_json()["id"]
    approved = act(client, centre, regulation_id, "approve", actors.head())
    assert approved.status_code == 200
    assert approved.get_json()["status"] == "approved"
    assert approved.get_json()["approved_by"]
    assert approved.headers["ETag"] != created.headers["ETag"]
    sent = act(client, centre, regulation_id, "submit", actors.head())
    assert sent.status_code == 200
    assert sent.get_json()["status"] == "submitted"
    with engine.connect() as conn:
        row = conn.execute(
            select(RegulationSubmission).where(
                RegulationSubmission.municipality_code == centre.code,
                RegulationSubmission.regulation_id == regulation_id,
            )
        ).one()
    assert (row.status, row.centre_id, row.kind) == ("submitted", centre.id, "initial")
    assert row.centre_name == f"Κέντρο {centre.slug}"
    assert row.sha256 == created.get_json()["sha256"]
    done = act(client, centre, regulation_id, "acknowledge", actors.ministry())
    assert done.status_code == 200
    assert done.get_json()["status"] == "acknowledged"
    assert done.get_json()["decided_at"]
    with engine.connect() as conn:
        status = conn.scalar(
            select(RegulationSubmission.status).where(
                RegulationSubmission.regulation_id == regulation_id,
                RegulationSubmission.municipality_code == centre.code,
            )
        )
    assert status == "acknowledged"
    with tenant_session(engine, parse_municipality_code(centre.code)) as session:
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(regulation_id))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == [
        "regulation.uploaded",
        "regulation.approved",
        "regulation.submitted",
        "regulation.acknowledged",
    ]


def test_returned_with_comments_stays_returned_and_a_new_draft_follows(
    client: FlaskClient, engine: Engine, actors: Actors, centre: Centre
) -> None:
    regulation_id = submitted(client, actors)
    no_comment = act(client, centre, regulation_id, "return", actors.ministry(), json={})
    assert no_comment.status_code == 422
    assert "comment" in no_comment.get_json()["errors"]["json"]
    blank = act(client, centre, regulation_id, "return", actors.ministry(), json={"comment": "  "})
    assert blank.status_code == 422
    returned = act(
        client,
        centre,
        regulation_id,
        "return",
        actors.ministry(),
        json={"comment": "Λείπει το ωράριο λειτουργίας."},
    )
    assert returned.status_code == 200
    assert returned.get_json()["status"] == "returned"
    assert returned.get_json()["ministry_comment"] == "Λείπει το ωράριο λειτουργίας."
    with engine.connect() as conn:
        row = conn.execute(
            select(RegulationSubmission.status, RegulationSubmission.ministry_comment).where(
                RegulationSubmission.regulation_id == regulation_id,
                RegulationSubmission.municipality_code == centre.code,
            )
        ).one()
    assert tuple(row) == ("returned", "Λείπει το ωράριο λειτουργίας.")
    # It stays returned: no second decision, no new submission of it.
    for action, headers in (("acknowledge", actors.ministry()), ("submit", actors.admin())):
        again = act(client, centre, regulation_id, action, headers)
        assert again.status_code == 409, action
    fresh = upload(client, centre, actors.admin(), change_summary="Προστέθηκε το ωράριο.")
    assert fresh.status_code == 201
    assert fresh.get_json()["kind"] == "amendment"
    assert fresh.get_json()["status"] == "draft"


def test_submitting_a_draft_and_submitting_twice_are_409(
    client: FlaskClient, engine: Engine, actors: Actors, centre: Centre
) -> None:
    regulation_id = upload(client, centre, actors.admin()).get_json()["id"]
    draft = act(client, centre, regulation_id, "submit", actors.admin())
    assert draft.status_code == 409
    assert draft.get_json()["detail"].startswith("Η έκδοση είναι «σχέδιο»· υποβάλλεται μόνο")
    assert act(client, centre, regulation_id, "approve", actors.head()).status_code == 200
    assert act(client, centre, regulation_id, "submit", actors.admin()).status_code == 200
    twice = act(client, centre, regulation_id, "submit", actors.admin())
    assert twice.status_code == 409
    assert twice.get_json()["detail"] == "Η έκδοση έχει ήδη υποβληθεί στο Υπουργείο."
    assert twice.get_json()["code"] == "regulations.already_submitted"
    english = act(
        client, centre, regulation_id, "submit", {**actors.admin(), "Accept-Language": "en"}
    )
    assert english.get_json()["detail"] == (
        "The version has already been submitted to the ministry."
    )
    with engine.connect() as conn:
        rows = conn.scalar(
            select(func.count())
            .select_from(RegulationSubmission)
            .where(
                RegulationSubmission.regulation_id == regulation_id,
                RegulationSubmission.municipality_code == centre.code,
            )
        )
    assert rows == 1


def test_acknowledging_or_returning_what_was_not_submitted_is_409(
    client: FlaskClient, actors: Actors, centre: Centre
) -> None:
    regulation_id = upload(client, centre, actors.admin()).get_json()["id"]
    refused = act(client, centre, regulation_id, "acknowledge", actors.ministry())
    assert refused.status_code == 409
    assert refused.get_json()["detail"].startswith("Η έκδοση είναι «σχέδιο»· παραλαμβάνεται μόνο")
    returned = act(
        client, centre, regulation_id, "return", actors.ministry(), json={"comment": "Όχι ακόμη."}
    )
    assert returned.status_code == 409
    assert act(client, centre, regulation_id, "approve", actors.head()).status_code == 200
    assert act(client, centre, regulation_id, "approve", actors.head()).status_code == 409


def test_only_the_head_of_the_centre_approves(
    client: FlaskClient, engine: Engine, actors: Actors, centre: Centre
) -> None:
    """A head of another centre may read the version but not approve it: 403 (not 404, since
    every role of the municipality reads regulations). An admin lacks the permission: 403."""
    other = make_centre(engine)
    regulation_id = upload(client, centre, actors.admin()).get_json()["id"]
    assert (
        client.get(f"{centre.base}/{regulation_id}", headers=actors.head(other.slug)).status_code
        == 200
    )
    foreign = act(client, centre, regulation_id, "approve", actors.head(other.slug))
    assert foreign.status_code == 403
    assert foreign.get_json()["detail"].startswith("Ο ρόλος σας αφορά άλλο Κέντρο")
    admin = act(client, centre, regulation_id, "approve", actors.admin())
    assert admin.status_code == 403
    # A head whose group is an annex of the centre does not cover the centre itself.
    annex = act(client, centre, regulation_id, "approve", actors.head(f"{centre.slug}/parartima"))
    assert annex.status_code == 403
    assert (
        client.get(f"{centre.base}/{regulation_id}", headers=actors.admin()).get_json()["status"]
        == "draft"
    )


def test_if_match_is_required_and_must_be_current(
    client: FlaskClient, actors: Actors, centre: Centre
) -> None:
    regulation_id = upload(client, centre, actors.admin()).get_json()["id"]
    missing = act(client, centre, regulation_id, "approve", actors.head(), etag=None)
    assert missing.status_code == 428
    stale = act(client, centre, regulation_id, "approve", actors.head(), etag='"999"')
    assert stale.status_code == 412
    old = client.get(f"{centre.base}/{regulation_id}", headers=actors.head()).headers["ETag"]
    assert act(client, centre, regulation_id, "approve", actors.head(), etag=old).status_code == 200
    for action, headers in (("submit", actors.admin()), ("acknowledge", actors.ministry())):
        assert act(client, centre, regulation_id, action, headers, etag=None).status_code == 428
        assert act(client, centre, regulation_id, action, headers, etag=old).status_code == 412
    assert (
        act(
            client,
            centre,
            regulation_id,
            "return",
            actors.ministry(),
            etag=old,
            json={"comment": "Σχόλιο."},
        ).status_code
        == 412
    )


def test_the_file_is_downloaded_as_an_attachment(
    client: FlaskClient, actors: Actors, centre: Centre
) -> None:
    content = pdf()
    regulation_id = upload(
        client, centre, actors.admin(), content=content, filename="Κανονισμός 2025.pdf"
    ).get_json()["id"]
    got = client.get(f"{centre.base}/{regulation_id}/file", headers=actors.staff())
    assert got.status_code == 200
    assert got.mimetype == "application/pdf"
    assert got.data == content
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%CE%9A%CE%B1%CE%BD" in disposition
    missing = client.get(f"{centre.base}/999999999/file", headers=actors.staff())
    assert missing.status_code == 404


def test_other_tenant_sees_nothing_of_a_version(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, actors: Actors, centre: Centre
) -> None:
    """Every endpoint of 4001's version, called by 4601's admin and head: 404, as for a
    municipality that does not exist; and 4601's URL with 4001's id: 404 (no such version)."""
    regulation_id = upload(client, centre, actors.admin()).get_json()["id"]
    outsider = make_centre(engine, ATTICA)
    outsiders = (
        tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=ATTICA),
        tokens.headers(
            Role.CENTRE_HEAD, municipality=ATTICA, groups=[f"/m-{ATTICA}/{outsider.slug}"]
        ),
        tokens.headers(Role.REGIONAL_OFFICER, region=REGIONS[ATTICA]),
    )
    urls = [
        ("GET", centre.base),
        ("POST", centre.base),
        ("GET", f"{centre.base}/{regulation_id}"),
        ("GET", f"{centre.base}/{regulation_id}/file"),
        *[
            ("POST", f"{centre.base}/{regulation_id}/{a}")
            for a in ("approve", "submit", "acknowledge", "return")
        ],
    ]
    for headers in outsiders:
        for method, url in urls:
            response = client.open(url, method=method, headers={**headers, "If-Match": '"1"'})
            assert response.status_code == 404, (method, url)
    missing = client.get(
        f"/api/v1/municipalities/{ATTICA}/regulations/999999999", headers=outsiders[0]
    )
    assert missing.status_code == 404


def test_permissions_of_every_endpoint(
    client: FlaskClient, tokens: TokenFactory, actors: Actors, centre: Centre
) -> None:
    regulation_id = upload(client, centre, actors.admin()).get_json()["id"]
    staff, ministry, head, admin = actors.staff(), actors.ministry(), actors.head(), actors.admin()
    regional = tokens.headers(Role.REGIONAL_OFFICER, region=REGIONS[PELOPONNESE])
    item = f"{centre.base}/{regulation_id}"
    # Reading: every role that reaches the municipality.
    for headers in (staff, ministry, head, admin, regional):
        assert client.get(centre.base, headers=headers).status_code == 200
        assert client.get(item, headers=headers).status_code == 200
        assert client.get(f"{item}/file", headers=headers).status_code == 200
    # Writing and deciding: only the roles documented.
    forbidden = [
        (staff, "POST", centre.base),
        (ministry, "POST", centre.base),
        (regional, "POST", centre.base),
        (staff, "POST", f"{item}/approve"),
        (ministry, "POST", f"{item}/approve"),
        (admin, "POST", f"{item}/approve"),
        (staff, "POST", f"{item}/submit"),
        (ministry, "POST", f"{item}/submit"),
        (head, "POST", f"{item}/acknowledge"),
        (admin, "POST", f"{item}/acknowledge"),
        (regional, "POST", f"{item}/acknowledge"),
        (admin, "POST", f"{item}/return"),
        (head, "POST", f"{item}/return"),
        (staff, "GET", "/api/v1/regulations"),
        (admin, "GET", "/api/v1/regulations"),
        (regional, "GET", "/api/v1/regulations"),
        (head, "GET", "/api/v1/regulations/bundle.zip"),
        (regional, "GET", "/api/v1/regulations/bundle.zip"),
    ]
    for headers, method, url in forbidden:
        response = client.open(url, method=method, headers={**headers, "If-Match": '"1"'})
        assert response.status_code == 403, (method, url)
    assert client.get("/api/v1/regulations").status_code == 401
    assert client.get(item).status_code == 401


# --- the ministry ---------------------------------------------------------------------------


@pytest.fixture
def national(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, tenants: None
) -> dict[str, Any]:
    """In 4001 a centre with an acknowledged initial regulation and a submitted amendment (the
    current one: later effective date), and a centre with only a draft; in 4601 a centre whose
    regulation was returned and another whose regulation is acknowledged."""
    made: dict[str, Any] = {}
    first = make_centre(engine, PELOPONNESE)
    a = Actors(tokens, first)
    made["initial"] = submitted(client, a, effective_date="2024-01-01")
    assert act(client, first, made["initial"], "acknowledge", a.ministry()).status_code == 200
    made["amendment_content"] = pdf("amendment")
    made["amendment"] = submitted(
        client,
        a,
        effective_date="2025-06-01",
        change_summary="Αλλαγή ωραρίου.",
        content=made["amendment_content"],
        filename="Τροποποίηση.pdf",
    )
    drafted = make_centre(engine, PELOPONNESE)
    upload(client, drafted, Actors(tokens, drafted).admin())
    returned = make_centre(engine, ATTICA)
    r = Actors(tokens, returned)
    made["returned"] = submitted(client, r)
    assert (
        act(client, returned, made["returned"], "return", r.ministry(), json={"comment": "Όχι."})
    ).status_code == 200
    attica = make_centre(engine, ATTICA)
    t = Actors(tokens, attica)
    made["attica_content"] = pdf("attica")
    made["attica"] = submitted(client, t, content=made["attica_content"])
    assert act(client, attica, made["attica"], "acknowledge", t.ministry()).status_code == 200
    made["centres"] = {"first": first, "drafted": drafted, "returned": returned, "attica": attica}
    return made


def ours(
    listed: list[dict[str, Any]], made: dict[str, Any]
) -> dict[tuple[str, int], dict[str, Any]]:
    """The rows of the fixture's centres, by (municipality, centre id)."""
    keys = {(c.code, c.id) for c in made["centres"].values()}
    found = {(r["municipality_code"], int(r["centre_id"])): r for r in listed}
    return {key: row for key, row in found.items() if key in keys}


def key(centre: Centre) -> tuple[str, int]:
    return (centre.code, centre.id)


def test_the_ministry_lists_the_current_regulation_of_every_centre(
    client: FlaskClient, ministry: dict[str, str], national: dict[str, Any]
) -> None:
    response = client.get("/api/v1/regulations", headers=ministry)
    assert response.status_code == 200
    found = ours(response.get_json(), national)
    centres = national["centres"]
    assert set(found) == {key(centres["first"]), key(centres["attica"])}
    current = found[key(centres["first"])]
    assert current["regulation_id"] == national["amendment"]
    assert (current["kind"], current["status"], current["effective_date"]) == (
        "amendment",
        "submitted",
        "2025-06-01",
    )
    assert current["municipality_name"] == "Δήμος Τρίπολης"
    assert current["region_code"] == "EL65"
    assert current["change_summary"] == "Αλλαγή ωραρίου."
    acknowledged = client.get("/api/v1/regulations?status=acknowledged", headers=ministry)
    assert set(ours(acknowledged.get_json(), national)) == {key(centres["attica"])}


def test_the_ministry_filters_by_region(
    client: FlaskClient, ministry: dict[str, str], national: dict[str, Any]
) -> None:
    attica = client.get("/api/v1/regulations?region=EL30", headers=ministry)
    assert attica.status_code == 200
    assert {r["region_code"] for r in attica.get_json()} <= {"EL30"}
    assert set(ours(attica.get_json(), national)) == {key(national["centres"]["attica"])}
    peloponnese = client.get("/api/v1/regulations?region=EL65", headers=ministry)
    assert set(ours(peloponnese.get_json(), national)) == {key(national["centres"]["first"])}
    assert client.get("/api/v1/regulations?region=EL99", headers=ministry).status_code == 422
    assert client.get("/api/v1/regulations?region=Attica", headers=ministry).status_code == 422
    assert client.get("/api/v1/regulations?status=draft", headers=ministry).status_code == 422
    assert client.get("/api/v1/regulations?regoin=EL30", headers=ministry).status_code == 422


def test_the_ministry_list_reads_the_shared_schema_only(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, national: dict[str, Any]
) -> None:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert (
            client.get(
                "/api/v1/regulations", headers=tokens.headers(Role.MINISTRY_OFFICER)
            ).status_code
            == 200
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements
    # No tenant table, no tenant schema (m_<code>; a LIMIT's "param_1" is not one).
    tenant = re.compile(r"regulation_versions|\bm_[0-9]")
    assert not [s for s in statements if tenant.search(s)]


def test_the_bundle_holds_the_current_pdfs_and_an_index(
    client: FlaskClient, tokens: TokenFactory, national: dict[str, Any]
) -> None:
    response = client.get(
        "/api/v1/regulations/bundle.zip", headers=tokens.headers(Role.MINISTRY_OFFICER)
    )
    data = response.data
    response.close()  # the bundle is a spooled file, closed with the response
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        names = bundle.namelist()
        assert "index.csv" in names
        raw = bundle.read("index.csv")
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        by_id = ours(rows, national)
        centres = national["centres"]
        assert set(by_id) == {key(centres["first"]), key(centres["attica"])}
        row = by_id[key(centres["first"])]
        assert row["municipality_name"] == "Δήμος Τρίπολης"
        assert (row["region_code"], row["kind"], row["effective_date"], row["status"]) == (
            "EL65",
            "amendment",
            "2025-06-01",
            "submitted",
        )
        assert row["centre_name"] == f"Κέντρο {centres['first'].slug}"
        assert row["submitted_at"]
        assert (
            row["file"]
            == f"{PELOPONNESE}/{centres['first'].id}-{national['amendment']}-Τροποποίηση.pdf"
        )
        assert bundle.read(row["file"]) == national["amendment_content"]
        assert row["sha256"] == hashlib.sha256(national["amendment_content"]).hexdigest()
        attica = by_id[key(centres["attica"])]
        assert bundle.read(attica["file"]) == national["attica_content"]
        assert len(names) == len(rows) + 1
    region = client.get(
        "/api/v1/regulations/bundle.zip?region=EL30", headers=tokens.headers(Role.MINISTRY_OFFICER)
    )
    data = region.data
    region.close()
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        rows = list(csv.DictReader(io.StringIO(bundle.read("index.csv").decode("utf-8-sig"))))
    assert {r["region_code"] for r in rows} == {"EL30"}
    assert PELOPONNESE not in {r["municipality_code"] for r in rows}
