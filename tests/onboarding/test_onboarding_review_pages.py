"""The reviewers' web pages for onboarding requests: the list, one request (an audited read),
approval (the tenant provisioned, its Social Service recorded, the admin invited) and
rejection (a reason required), CSRF, and who may see them.

Municipalities used here and nowhere else: 6101 (Κάλυμνος, 17,752) and 6801 (Πάρος, 14,520).
Every request, tenant, identity object and audit row a test creates is removed after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from kentra.auth.roles import Role
from kentra.platform.audit.models import PlatformAuditEvent
from kentra.platform.core.models import utcnow
from kentra.platform.onboarding import views as review_views
from kentra.platform.onboarding.models import BodyType, OnboardingRequest, RequestStatus
from kentra.platform.supervision.operations import supervisor_of
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.models import Tenant
from tests.helpers import assert_contains_all, csrf_token_of, remove_onboarding, request_status
from tests.identity import failing_provider
from tests.tokens import TokenFactory

KALYMNOS, PAROS = "6101", "6801"
CODES = (KALYMNOS, PAROS)
LIST = "/onboarding/requests"
REVIEWERS = [Role.PLATFORM_OPERATOR, Role.MINISTRY_OFFICER]


@pytest.fixture
def emails() -> list[str]:
    return []


@pytest.fixture(autouse=True)
def clean(
    engine: Engine, scratch_tenants: Callable[..., list[MunicipalityCode]], emails: list[str]
) -> Iterator[None]:
    scratch_tenants(*CODES, provision=False)  # dropped afterwards if approval created them
    yield
    remove_onboarding(engine, CODES, emails)
    with engine.begin() as conn:
        conn.execute(
            delete(PlatformAuditEvent).where(
                PlatformAuditEvent.action == "onboarding.read",
                PlatformAuditEvent.actor.like("review-pages-%"),
            )
        )


@pytest.fixture
def make_request(engine: Engine, emails: list[str]) -> Callable[..., int]:
    def make(
        code: str,
        *,
        has_social_service: bool = False,
        status: RequestStatus = RequestStatus.SUBMITTED,
    ) -> int:
        email = f"rep-{uuid.uuid4().hex[:8]}@example.gr"
        emails.append(email)
        decided = status != RequestStatus.SUBMITTED
        with Session(engine) as session, session.begin():
            row = OnboardingRequest(
                municipality_code=code,
                body_type=BodyType.NPDD,
                body_legal_name="Κοινωφελές ΝΠΔΔ",
                body_vat="090000045",
                contact_name="Μαρία Κωνσταντίνου",
                contact_email=email,
                contact_phone="+302243012345",
                has_social_service=has_social_service,
                status=status,
                decision_reason="Ελλιπή στοιχεία." if status == RequestStatus.REJECTED else None,
                decided_by="test" if decided else None,
                decided_at=utcnow() if decided else None,
            )
            session.add(row)
            session.flush()
            return row.id

    return make


def reviewer(tokens: TokenFactory, role: Role = Role.MINISTRY_OFFICER) -> dict[str, str]:
    claims = tokens.claims(role, sub=f"review-pages-{uuid.uuid4().hex[:8]}")
    return {"Authorization": f"Bearer {tokens.sign(claims)}"}


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def csrf_token(client: FlaskClient, url: str, auth: dict[str, str]) -> str:
    return csrf_token_of(client, url, auth)


def reads(engine: Engine, request_id: int) -> int:
    with engine.connect() as conn:
        rows = conn.scalars(
            select(PlatformAuditEvent.details).where(PlatformAuditEvent.action == "onboarding.read")
        ).all()
    return sum(request_id in details["request_ids"] for details in rows)


@pytest.mark.parametrize("role", REVIEWERS)
def test_the_list_shows_waiting_requests_first(
    client: FlaskClient, tokens: TokenFactory, make_request: Callable[..., int], role: Role
) -> None:
    waiting = make_request(KALYMNOS)
    rejected = make_request(PAROS, status=RequestStatus.REJECTED)
    response = client.get(LIST, headers=reviewer(tokens, role))
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Αιτήσεις ένταξης</h1>" in page
    assert '<th scope="col">Δήμος</th>' in page
    first = page.index(f'href="/onboarding/requests/{waiting}"')
    second = page.index(f'href="/onboarding/requests/{rejected}"')
    assert first < second
    assert_contains_all(
        page,
        "Δήμος Καλυμνίων (6101)",
        "Περιμένει απόφαση",
        "Απορρίφθηκε",
        "Κοινωφελές ΝΠΔΔ — Δημοτικό ΝΠΔΔ",
    )
    assert "rep-" not in page  # no contact in the list


def test_a_request_shows_its_contact_and_the_read_is_audited(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, make_request: Callable[..., int]
) -> None:
    request_id = make_request(KALYMNOS)
    response = client.get(f"{LIST}/{request_id}", headers=reviewer(tokens))
    assert response.status_code == 200
    page = text(response)
    assert_contains_all(
        page,
        "Μαρία Κωνσταντίνου",
        "+302243012345",
        '<label for="reason">Αιτιολογία απόρριψης',
        "Έγκριση αίτησης",
    )
    assert reads(engine, request_id) == 1
    assert client.get(f"{LIST}/999999999", headers=reviewer(tokens)).status_code == 404


def test_approval_activates_the_tenant_with_its_social_service(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, make_request: Callable[..., int]
) -> None:
    request_id = make_request(KALYMNOS, has_social_service=True)
    url = f"{LIST}/{request_id}"
    auth = reviewer(tokens)
    response = client.post(
        url, headers=auth, data={"decision": "approve", "csrf_token": csrf_token(client, url, auth)}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == url
    assert request_status(engine, request_id) == "approved"
    with engine.connect() as conn:
        tenant = conn.execute(
            select(Tenant.status, Tenant.has_social_service).where(Tenant.code == KALYMNOS)
        ).one()
    assert (tenant.status, tenant.has_social_service) == ("active", True)
    with Session(engine) as session:
        assert supervisor_of(session, KALYMNOS) == KALYMNOS
    after = text(client.get(url, headers=auth))
    assert "Η αίτηση εγκρίθηκε" in after
    assert "Έγκριση αίτησης" not in after  # decided: no forms any more

    # Deciding again: the page says why, 409.
    again = client.post(
        url,
        headers=auth,
        data={
            "decision": "reject",
            "reason": "Λάθος.",
            "csrf_token": csrf_token(client, url, auth),
        },
    )
    assert again.status_code == 409
    assert "Για την αίτηση έχει ήδη ληφθεί απόφαση (εγκρίθηκε)." in text(again)
    assert "already" not in text(again)


def test_approval_without_a_social_service_records_false(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, make_request: Callable[..., int]
) -> None:
    request_id = make_request(PAROS, has_social_service=False)
    url = f"{LIST}/{request_id}"
    auth = reviewer(tokens, Role.PLATFORM_OPERATOR)
    token = csrf_token(client, url, auth)
    response = client.post(url, headers=auth, data={"decision": "approve", "csrf_token": token})
    assert response.status_code == 303
    with engine.connect() as conn:
        assert conn.scalar(select(Tenant.has_social_service).where(Tenant.code == PAROS)) is False
    with Session(engine) as session:
        assert supervisor_of(session, PAROS) == "6801"  # Πάρος is its unit's seat


def test_a_rejection_needs_a_reason(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, make_request: Callable[..., int]
) -> None:
    request_id = make_request(KALYMNOS)
    url = f"{LIST}/{request_id}"
    auth = reviewer(tokens)
    token = csrf_token(client, url, auth)
    empty = client.post(url, headers=auth, data={"decision": "reject", "csrf_token": token})
    assert empty.status_code == 422
    page = text(empty)
    assert_contains_all(
        page,
        "<title>Σφάλμα:",
        '<a href="#reason">Αιτιολογία απόρριψης: Το πεδίο είναι υποχρεωτικό.</a>',
        'aria-invalid="true"',
    )
    short = client.post(
        url, headers=auth, data={"decision": "reject", "reason": "Όχ", "csrf_token": token}
    )
    assert short.status_code == 422
    assert ">Όχ</textarea>" in text(short)  # what was typed stays
    assert request_status(engine, request_id) == "submitted"

    done = client.post(
        url,
        headers=auth,
        data={"decision": "reject", "reason": "Ελλιπής φάκελος.", "csrf_token": token},
    )
    assert done.status_code == 303
    assert request_status(engine, request_id) == "rejected"
    after = text(client.get(url, headers=auth))
    assert "Η αίτηση απορρίφθηκε." in after
    assert "Ελλιπής φάκελος." in after


def test_a_missing_csrf_token_or_decision_changes_nothing(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, make_request: Callable[..., int]
) -> None:
    request_id = make_request(KALYMNOS)
    url = f"{LIST}/{request_id}"
    auth = reviewer(tokens)
    no_csrf = client.post(url, headers=auth, data={"decision": "reject", "reason": "Κάτι άλλο."})
    assert no_csrf.status_code == 400
    assert "Η φόρμα έληξε" in text(no_csrf)
    assert ">Κάτι άλλο.</textarea>" in text(no_csrf)
    no_csrf_approve = client.post(url, headers=auth, data={"decision": "approve"})
    assert no_csrf_approve.status_code == 400
    token = csrf_token(client, url, auth)
    unknown = client.post(url, headers=auth, data={"decision": "maybe", "csrf_token": token})
    assert unknown.status_code == 422
    assert "Επιλέξτε έγκριση ή απόρριψη." in text(unknown)
    missing = client.post(
        f"{LIST}/999999999", headers=auth, data={"decision": "approve", "csrf_token": token}
    )
    assert missing.status_code == 404
    assert request_status(engine, request_id) == "submitted"


@pytest.mark.parametrize("role", [r for r in Role if r not in REVIEWERS])
def test_the_pages_are_the_reviewers(
    client: FlaskClient, tokens: TokenFactory, make_request: Callable[..., int], role: Role
) -> None:
    request_id = make_request(KALYMNOS)
    auth = tokens.headers(role, municipality="4501", region="EL30")
    assert client.get(LIST, headers=auth).status_code == 403
    assert client.get(f"{LIST}/{request_id}", headers=auth).status_code == 403
    assert client.post(f"{LIST}/{request_id}", headers=auth, data={}).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login(client: FlaskClient) -> None:
    response = client.get(LIST)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_an_identity_failure_keeps_the_request_waiting_and_a_retry_completes(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    make_request: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request_id = make_request(PAROS)
    url = f"{LIST}/{request_id}"
    auth = reviewer(tokens)
    real = review_views.identity_admin
    monkeypatch.setattr(review_views, "identity_admin", failing_provider(real, "ensure_user"))
    token = csrf_token(client, url, auth)
    failed = client.post(url, headers=auth, data={"decision": "approve", "csrf_token": token})
    assert failed.status_code == 502
    assert "Ο πάροχος ταυτότητας δεν ολοκλήρωσε την πρόσκληση" in text(failed)
    assert request_status(engine, request_id) == "submitted"
    monkeypatch.setattr(review_views, "identity_admin", real)
    retried = client.post(url, headers=auth, data={"decision": "approve", "csrf_token": token})
    assert retried.status_code == 303
    assert request_status(engine, request_id) == "approved"
