"""The operating regulation's web pages: the upload form (accessible, nothing typed lost, the
file to choose again), refusals (not a PDF, too large, CSRF, stale version, return without
comments), the flow upload → approve → submit → acknowledge through the pages, and the
ministry's page with its region filter and bundle.

Scratch tenant of this module: 4101 (Ναύπλιο, Peloponnese, EL65); dropped at the end with
its rows of the shared schema.
"""

from __future__ import annotations

import io
import re
import time
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from kentra.auth.roles import Role
from kentra.platform.compliance.models import CentreCompliance
from kentra.platform.regulations.models import RegulationSubmission, RegulationVersion
from kentra.platform.units.models import UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.provisioning import create_tenant
from tests.conftest import drop_tenant
from tests.helpers import assert_contains_all, assert_labelled, csrf_token_of
from tests.pdfs import plain_pdf
from tests.tokens import TokenFactory

CODE = "4101"
BASE = f"/municipalities/{CODE}/regulations"


def pdf() -> bytes:
    return plain_pdf()


@pytest.fixture(scope="module")
def tenant(engine: Engine) -> Iterator[str]:
    create_tenant(engine, CODE, actor="test")
    yield CODE
    with engine.begin() as conn:
        conn.execute(
            delete(RegulationSubmission).where(RegulationSubmission.municipality_code == CODE)
        )
        conn.execute(delete(CentreCompliance).where(CentreCompliance.municipality_code == CODE))
    drop_tenant(engine, parse_municipality_code(CODE))


@pytest.fixture
def centre(engine: Engine, tenant: str) -> tuple[int, str]:
    slug = f"kk-{uuid.uuid4().hex[:8]}"
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        unit = ensure_unit(
            session, centre=slug, unit=None, kind=UnitKind.CENTRE, name=f"Κέντρο {slug}"
        )
        return unit.id, slug


def browser(app: Flask, tokens: TokenFactory, role: Role, **claims: Any) -> FlaskClient:
    """A test client signed in on the web as ``role`` (the login's session, as after /auth/callback)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["oidc_tokens"] = {
            "access_token": tokens.token(role, **claims),
            "expires_at": time.time() + 300,
        }
    return client


def admin(app: Flask, tokens: TokenFactory) -> FlaskClient:
    return browser(app, tokens, Role.MUNICIPALITY_ADMIN, municipality=CODE)


def head(app: Flask, tokens: TokenFactory, slug: str) -> FlaskClient:
    return browser(app, tokens, Role.CENTRE_HEAD, municipality=CODE, groups=[f"/m-{CODE}/{slug}"])


def ministry(app: Flask, tokens: TokenFactory) -> FlaskClient:
    return browser(app, tokens, Role.MINISTRY_OFFICER)


def page(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def csrf_token(client: FlaskClient, url: str) -> str:
    return csrf_token_of(client, url)


def hidden_version(client: FlaskClient, url: str) -> str:
    found = re.search(r'name="version" value="([0-9]+)"', page(client.get(url)))
    assert found is not None
    return found.group(1)


def decide(client: FlaskClient, url: str, action: str) -> TestResponse:
    """The form of ``action`` on the version page ``url`` sent as a browser does: its CSRF
    token and the version shown."""
    data = {"csrf_token": csrf_token(client, url), "version": hidden_version(client, url)}
    return client.post(f"{url}/{action}", data=data)


def post_upload(
    client: FlaskClient,
    centre_id: int,
    *,
    content: bytes | None = None,
    filename: str = "kanonismos.pdf",
    csrf: bool = True,
    **fields: str,
) -> TestResponse:
    data: dict[str, Any] = {
        "centre_id": str(centre_id),
        "effective_date": "2025-02-01",
        "change_summary": "",
        **fields,
        "file": FileStorage(io.BytesIO(pdf() if content is None else content), filename),
    }
    if csrf:
        data["csrf_token"] = csrf_token(client, f"{BASE}/new")
    boundary, body = encode_multipart(MultiDict(data))
    return client.post(
        f"{BASE}/new", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def versions_of(engine: Engine, centre_id: int) -> list[RegulationVersion]:
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        return list(
            session.scalars(
                select(RegulationVersion).where(RegulationVersion.centre_id == centre_id)
            )
        )


def error_summary(text: str) -> str:
    found = re.search(r'<div class="error-summary" role="alert".*?</div>', text, re.S)
    assert found is not None, "no error summary"
    return found.group(0)


def test_the_upload_form_is_greek_labelled_and_multipart(
    app: Flask, tokens: TokenFactory, centre: tuple[int, str]
) -> None:
    response = admin(app, tokens).get(f"{BASE}/new")
    assert response.status_code == 200
    text = page(response)
    assert '<html lang="el">' in text
    assert text.count("<h1>") == 1
    assert 'enctype="multipart/form-data"' in text
    assert_labelled(text, "centre_id", "effective_date", "change_summary", "file")
    assert_contains_all(
        text,
        'type="file" id="file" name="file" accept=".pdf,application/pdf"',
        'aria-describedby="file-hint"',
        "Μόνο αρχείο PDF (κατάληξη .pdf), έως 10 MB.",
        'type="date" id="effective_date"',
    )
    assert 'role="alert"' not in text


def test_the_flow_through_the_pages(
    app: Flask, engine: Engine, tokens: TokenFactory, centre: tuple[int, str]
) -> None:
    centre_id, slug = centre
    municipality = admin(app, tokens)
    listed = municipality.get(BASE)
    assert listed.status_code == 200
    assert f'href="{BASE}/new"' in page(listed)
    created = post_upload(municipality, centre_id)
    assert created.status_code == 303
    detail_url = created.headers["Location"]
    assert re.fullmatch(rf"{BASE}/[0-9]+", detail_url)
    shown = page(municipality.get(detail_url))
    assert_contains_all(
        shown,
        "Η νέα έκδοση αναρτήθηκε ως σχέδιο.",
        "Αρχικός κανονισμός",
        "Σχέδιο",
        f'href="{detail_url}/file"',
    )
    assert "Έγκριση της έκδοσης" not in shown  # the admin does not approve
    assert "Υποβολή στο Υπουργείο" not in shown  # a draft is not submitted
    assert municipality.get(f"{detail_url}/file").data.startswith(b"%PDF-")

    centre_head = head(app, tokens, slug)
    approve_form = page(centre_head.get(detail_url))
    assert "Έγκριση της έκδοσης" in approve_form
    approved = decide(centre_head, detail_url, "approve")
    assert approved.status_code == 303
    assert approved.headers["Location"] == detail_url
    submitted = decide(municipality, detail_url, "submit")
    assert submitted.status_code == 303
    assert "Η έκδοση υποβλήθηκε στο Υπουργείο." in page(municipality.get(detail_url))

    officer = ministry(app, tokens)
    overview = page(officer.get("/ministry/regulations?region=EL65"))
    assert f'href="{detail_url}"' in overview
    assert 'href="/ministry/regulations/bundle.zip?region=EL65"' in overview
    decision = page(officer.get(detail_url))
    assert "Παραλαβή" in decision
    assert "Επιστροφή με σχόλια" in decision
    done = decide(officer, detail_url, "acknowledge")
    assert done.status_code == 303
    assert "Παραλήφθηκε από το Υπουργείο" in page(municipality.get(detail_url))
    [version] = versions_of(engine, centre_id)
    assert version.status == "acknowledged"


def test_a_refused_upload_keeps_what_was_typed(
    app: Flask, engine: Engine, tokens: TokenFactory, centre: tuple[int, str]
) -> None:
    centre_id, _slug = centre
    client = admin(app, tokens)
    refused = post_upload(
        client,
        centre_id,
        content=b"GIF89a",
        effective_date="2025-03-15",
        change_summary="Νέο <ωράριο> & χώροι",
    )
    assert refused.status_code == 422
    text = page(refused)
    assert "<title>Σφάλμα: " in text
    assert (
        "Το αρχείο δεν είναι PDF: ανεβάστε τον κανονισμό ως αρχείο PDF (κατάληξη .pdf)."
        in error_summary(text)
    )
    assert "The file is not a PDF" not in text
    assert_contains_all(
        text,
        'value="2025-03-15"',
        "Νέο &lt;ωράριο&gt; &amp; χώροι</textarea>",
        f'<option value="{centre_id}" selected>',
        "επιλέξτε το ξανά",
        'aria-invalid="true"',
    )
    assert versions_of(engine, centre_id) == []
    # An amendment without a summary: the message sits at the summary's field.
    assert post_upload(client, centre_id).status_code == 303
    amendment = post_upload(client, centre_id, effective_date="2026-01-01")
    assert amendment.status_code == 422
    assert 'id="change_summary-error"' in page(amendment)
    assert 'value="2026-01-01"' in page(amendment)
    # Missing fields: each named, the file too.
    empty = post_upload(client, centre_id, effective_date="", filename="")
    assert empty.status_code == 422
    assert 'id="effective_date-error"' in page(empty)
    assert 'id="file-error"' in page(empty)
    assert len(versions_of(engine, centre_id)) == 1


def test_a_missing_csrf_token_saves_nothing(
    app: Flask, engine: Engine, tokens: TokenFactory, centre: tuple[int, str]
) -> None:
    centre_id, _slug = centre
    refused = post_upload(admin(app, tokens), centre_id, csrf=False, change_summary="κείμενο")
    assert refused.status_code == 400
    assert "Η φόρμα έληξε" in page(refused)
    assert "κείμενο</textarea>" in page(refused)
    assert versions_of(engine, centre_id) == []


def test_an_oversized_upload_shows_a_message_and_saves_nothing(
    app: Flask,
    engine: Engine,
    tokens: TokenFactory,
    centre: tuple[int, str],
    small_upload_limit: int,
) -> None:
    centre_id, _slug = centre
    client = admin(app, tokens)
    big = b"%PDF-1.7\n" + b"0" * small_upload_limit + b"\n%%EOF\n"
    refused = post_upload(client, centre_id, content=big, effective_date="2025-04-01")
    assert refused.status_code == 413
    assert refused.mimetype == "text/html"
    assert "Το αρχείο είναι μεγαλύτερο από" in error_summary(page(refused))
    assert 'value="2025-04-01"' in page(refused)
    # Far above the limit: refused before the body is read, with a page of its own.
    huge = post_upload(client, centre_id, content=b"%PDF-" + b"0" * 200_000 + b"%%EOF")
    assert huge.status_code == 413
    assert huge.mimetype == "text/html"
    assert "Το αρχείο είναι πολύ μεγάλο" in page(huge)
    assert f'href="{BASE}/new"' in page(huge)
    assert versions_of(engine, centre_id) == []


def _submitted(app: Flask, tokens: TokenFactory, centre: tuple[int, str]) -> str:
    centre_id, slug = centre
    municipality = admin(app, tokens)
    url = post_upload(municipality, centre_id).headers["Location"]
    for client, action in ((head(app, tokens, slug), "approve"), (municipality, "submit")):
        response = client.post(
            f"{url}/{action}",
            data={"csrf_token": csrf_token(client, url), "version": hidden_version(client, url)},
        )
        assert response.status_code == 303
    return url


def test_returning_needs_comments_and_a_current_version(
    app: Flask, engine: Engine, tokens: TokenFactory, centre: tuple[int, str]
) -> None:
    url = _submitted(app, tokens, centre)
    officer = ministry(app, tokens)
    token, version = csrf_token(officer, url), hidden_version(officer, url)
    empty = officer.post(
        f"{url}/return", data={"csrf_token": token, "version": version, "comment": " "}
    )
    assert empty.status_code == 422
    assert 'id="comment-error"' in page(empty)
    stale = officer.post(
        f"{url}/return",
        data={
            "csrf_token": token,
            "version": str(int(version) - 1),
            "comment": "Λείπει το ωράριο.",
        },
    )
    assert stale.status_code == 409
    assert "Η έκδοση άλλαξε από τότε που ανοίξατε τη σελίδα" in page(stale)
    assert "Λείπει το ωράριο.</textarea>" in page(stale)
    returned = officer.post(
        f"{url}/return",
        data={"csrf_token": token, "version": version, "comment": "Λείπει το ωράριο."},
    )
    assert returned.status_code == 303
    shown = page(admin(app, tokens).get(url))
    assert_contains_all(shown, "Επεστράφη με σχόλια", "Λείπει το ωράριο.", "Αναρτήστε νέα έκδοση")
    again = officer.post(
        f"{url}/acknowledge", data={"csrf_token": token, "version": str(int(version) + 1)}
    )
    assert again.status_code == 409
    assert "παραλαμβάνεται μόνο" in page(again)


def test_the_ministry_page_filters_and_bundles(
    app: Flask, tokens: TokenFactory, centre: tuple[int, str]
) -> None:
    url = _submitted(app, tokens, centre)
    officer = ministry(app, tokens)
    everything = page(officer.get("/ministry/regulations"))
    assert f'href="{url}"' in everything
    assert '<select id="region" name="region"' in everything
    attica = page(officer.get("/ministry/regulations?region=EL30"))
    assert f'href="{url}"' not in attica
    bad = officer.get("/ministry/regulations?region=EL99")
    assert bad.status_code == 422
    assert "Δεν υπάρχει Περιφέρεια" in page(bad)
    response = officer.get("/ministry/regulations/bundle.zip?region=EL65")
    data = response.data
    response.close()
    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(data)) as bundle:
        index = bundle.read("index.csv").decode("utf-8-sig")
    assert f"\r\n{CODE},Δήμος Ναυπλιέων,EL65," in index
    # Other roles: the page is the ministry's.
    assert admin(app, tokens).get("/ministry/regulations").status_code == 403


def test_a_head_of_another_centre_sees_no_approve_button_and_is_refused(
    app: Flask, engine: Engine, tokens: TokenFactory, centre: tuple[int, str]
) -> None:
    centre_id, _slug = centre
    url = post_upload(admin(app, tokens), centre_id).headers["Location"]
    other = head(app, tokens, "kk-allo")
    shown = other.get(url)
    assert shown.status_code == 200
    refused = other.post(
        f"{url}/approve",
        data={"csrf_token": csrf_token(other, url), "version": "1"},
    )
    assert refused.status_code == 403
    assert "Ο ρόλος σας αφορά άλλο Κέντρο" in page(refused)
    assert [v.status for v in versions_of(engine, centre_id)] == ["draft"]


def test_other_municipalities_pages_are_404(
    app: Flask, tokens: TokenFactory, centre: tuple[int, str]
) -> None:
    centre_id, _slug = centre
    url = post_upload(admin(app, tokens), centre_id).headers["Location"]
    outsider = browser(app, tokens, Role.MUNICIPALITY_ADMIN, municipality="4501")
    for target in (BASE, f"{BASE}/new", url, f"{url}/file"):
        assert outsider.get(target).status_code == 404, target
    for action in ("approve", "submit", "acknowledge", "return"):
        assert outsider.post(f"{url}/{action}").status_code == 404, action
    anonymous = app.test_client().get(BASE)
    assert anonymous.status_code == 302


def test_a_draft_is_numbered_named_and_withdrawable(
    app: Flask, engine: Engine, tokens: TokenFactory, centre: tuple[int, str]
) -> None:
    centre_id, slug = centre
    municipality = browser(
        app, tokens, Role.MUNICIPALITY_ADMIN, municipality=CODE, name="Μαρία Δημητρίου"
    )
    first = post_upload(municipality, centre_id).headers["Location"]
    shown = page(municipality.get(first))
    assert "Έκδοση 1 · Αρχικός κανονισμός" in shown
    assert "Μαρία Δημητρίου" in shown  # the uploader by name, not by token subject
    assert "Απόσυρση του σχεδίου" in shown

    withdrawn = decide(municipality, first, "withdraw")
    assert withdrawn.status_code == 303
    shown = page(municipality.get(first))
    assert "Το σχέδιο αποσύρθηκε" in shown
    assert "Αποσύρθηκε" in shown
    assert "Απόσυρση του σχεδίου" not in shown  # nothing left to withdraw
    assert "Έγκριση της έκδοσης" not in page(head(app, tokens, slug).get(first))

    # Withdrawn, it never was the centre's regulation: the next upload is initial again, and
    # numbered after it (no number given twice).
    second = post_upload(municipality, centre_id).headers["Location"]
    assert "Έκδοση 2 · Αρχικός κανονισμός" in page(municipality.get(second))
    listed = page(municipality.get(BASE))
    # newest first (this centre's rows: other tests' centres may be listed before it)
    assert listed.index(f'href="{second}"') < listed.index(f'href="{first}"')
    assert [v.status.value for v in versions_of(engine, centre_id)][-2:] in (
        ["withdrawn", "draft"],
        ["draft", "withdrawn"],
    )

    # Only a draft is withdrawn: once approved, a 409 with the reason, nothing changed.
    centre_head = head(app, tokens, slug)
    decide(centre_head, second, "approve")
    refused = decide(municipality, second, "withdraw")
    assert refused.status_code == 409
    assert "αποσύρεται μόνο όταν είναι «σχέδιο»" in page(refused)
