"""Issue 10, §6: the regulation upload accepted ``%PDF-…<html><script>…%%EOF`` — any bytes
between a PDF header and an end marker. Each test is the attacker's upload, through the API
and through the upload page: a file that does not parse as a PDF, or a PDF with active content
(JavaScript, a launch or submit action, an embedded file, an XFA form, rich media), is a 422
naming the file and nothing is saved; a plain PDF, with or without a web link, is still
accepted.

Scratch tenant of this module: 2701 (Λαμία); dropped at the end.
"""

from __future__ import annotations

import html
import io
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from kentra.auth.roles import Role
from kentra.platform.regulations.models import RegulationVersion
from kentra.platform.units.models import UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.provisioning import create_tenant
from tests.conftest import drop_tenant
from tests.helpers import csrf_token_of
from tests.pdfs import HOSTILE, linked_pdf, plain_pdf
from tests.tokens import TokenFactory

CODE = "2701"
API = f"/api/v1/municipalities/{CODE}/regulations"
PAGE = f"/municipalities/{CODE}/regulations/new"
NOT_A_PDF = "Το αρχείο δεν είναι PDF"
ACTIVE = "Το PDF περιέχει ενεργό περιεχόμενο"
# What each hostile file is refused as (the Greek part of the message).
REFUSALS = {
    "polyglot": NOT_A_PDF,
    "open-action-javascript": f"{ACTIVE} (JavaScript)",
    "names-tree-javascript": f"{ACTIVE} (JavaScript)",
    "annotation-javascript": f"{ACTIVE} (JavaScript)",
    "obfuscated-javascript": f"{ACTIVE} (JavaScript)",
    "unindexed-javascript": f"{ACTIVE} (JavaScript)",
    "launch": f"{ACTIVE} (ενέργεια που εκτελεί πρόγραμμα)",
    "submit-form": f"{ACTIVE} (ενέργεια που στέλνει ή φορτώνει δεδομένα φόρμας)",
    "embedded-file": f"{ACTIVE} (ενσωματωμένα αρχεία)",
    "xfa": f"{ACTIVE} (φόρμα XFA)",
    "rich-media": f"{ACTIVE} (πολυμέσα)",
}


@pytest.fixture(scope="module")
def centre_id(engine: Engine) -> Iterator[int]:
    create_tenant(engine, CODE, actor="test")
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        centre = ensure_unit(
            session, centre="kk-lamias", unit=None, kind=UnitKind.CENTRE, name="Κέντρο Λαμίας"
        )
        found = centre.id
    yield found
    drop_tenant(engine, parse_municipality_code(CODE))


def versions(engine: Engine) -> int:
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        return session.scalar(select(func.count()).select_from(RegulationVersion)) or 0


def multipart(fields: dict[str, Any]) -> dict[str, Any]:
    boundary, body = encode_multipart(MultiDict(fields))
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def api_upload(
    client: FlaskClient, tokens: TokenFactory, centre_id: int, content: bytes
) -> TestResponse:
    fields = {
        "centre_id": str(centre_id),
        "effective_date": "2025-03-01",
        "change_summary": "αλλαγή",
        "file": FileStorage(io.BytesIO(content), "kanonismos.pdf", content_type="application/pdf"),
    }
    headers = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE)
    return client.post(API, headers=headers, **multipart(fields))


def signed_in(app: Flask, tokens: TokenFactory) -> FlaskClient:
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["oidc_tokens"] = {
            "access_token": tokens.token(Role.MUNICIPALITY_ADMIN, municipality=CODE),
            "expires_at": time.time() + 300,
        }
    return browser


def page_upload(browser: FlaskClient, centre_id: int, content: bytes) -> TestResponse:
    fields = {
        "csrf_token": csrf_token_of(browser, PAGE),
        "centre_id": str(centre_id),
        "effective_date": "2025-03-01",
        "change_summary": "αλλαγή",
        "file": FileStorage(io.BytesIO(content), "kanonismos.pdf"),
    }
    return browser.post(PAGE, **multipart(fields))


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_the_api_refuses_a_hostile_pdf_and_saves_nothing(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre_id: int, kind: str
) -> None:
    make: Callable[[], bytes] = HOSTILE[kind]
    before = versions(engine)
    response = api_upload(client, tokens, centre_id, make())
    assert response.status_code == 422, response.get_json()
    messages = response.get_json()["errors"]["files"]["file"]
    assert REFUSALS[kind] in messages[0]
    assert versions(engine) == before


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_the_upload_page_refuses_a_hostile_pdf_and_keeps_the_form(
    app: Flask, engine: Engine, tokens: TokenFactory, centre_id: int, kind: str
) -> None:
    before = versions(engine)
    response = page_upload(signed_in(app, tokens), centre_id, HOSTILE[kind]())
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert REFUSALS[kind] in text
    assert 'name="file"' in text  # the form again, to choose another file
    assert 'value="2025-03-01"' in text  # what was typed is kept
    assert versions(engine) == before


def test_a_password_protected_pdf_is_refused(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre_id: int
) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain_pdf())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    locked = io.BytesIO()
    writer.write(locked)
    before = versions(engine)
    response = api_upload(client, tokens, centre_id, locked.getvalue())
    assert response.status_code == 422
    assert "κλειδωμένο με κωδικό" in response.get_json()["errors"]["files"]["file"][0]
    assert versions(engine) == before


def test_a_plain_pdf_is_still_accepted_by_the_api_and_the_page(
    app: Flask, client: FlaskClient, engine: Engine, tokens: TokenFactory, centre_id: int
) -> None:
    before = versions(engine)
    response = api_upload(client, tokens, centre_id, plain_pdf("api"))
    assert response.status_code == 201, response.get_json()
    linked = api_upload(client, tokens, centre_id, linked_pdf())  # a web link is not active
    assert linked.status_code == 201, linked.get_json()
    page = page_upload(signed_in(app, tokens), centre_id, plain_pdf("page"))
    assert page.status_code == 303
    assert versions(engine) == before + 3
