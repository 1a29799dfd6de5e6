"""Self-service signup: submission and its validation, review permissions, and decisions.

Municipalities used here and nowhere else: 1101 (Κατερίνη, 82,892), 1102 (Δίον-Όλυμπος,
23,955), 1103 (Πύδνα-Κολινδρός, 12,537), 1201 (Σέρρες, 74,004); 7403 (Γαύδος, 142) is read
only. Every tenant, identity object, request and audit row a test creates is removed after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from kentra.auth.issuer.models import (
    IdentityOrganization,
    IdentityOrganizationMember,
    IdentityUser,
    IdentityUserRole,
)
from kentra.auth.permissions import ROLE_PERMISSIONS, Permission
from kentra.auth.roles import Role
from kentra.platform.audit.models import AuditEvent, PlatformAuditEvent
from kentra.platform.core.errors import DomainError
from kentra.platform.core.models import utcnow
from kentra.platform.municipalities.models import TenantSetting
from kentra.platform.onboarding import blueprint as onboarding_blueprint
from kentra.platform.onboarding import operations as onboarding_operations
from kentra.platform.onboarding.models import OnboardingRequest, RequestStatus
from kentra.platform.onboarding.operations import (
    reject_request,
    submit_request,
)
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus
from kentra.tenants.provisioning import change_status
from tests.conftest import registry_codes, tenant_schemas
from tests.factories import OnboardingRequestFactory
from tests.helpers import (
    SMALL_MUNICIPALITY_TEXT,
    count_rows,
    remove_onboarding,
    request_status,
)
from tests.identity import failing_provider
from tests.tokens import TokenFactory

URL = "/api/v1/onboarding/requests"
CODES = ("1101", "1102", "1103", "1201")
TOO_SMALL = "7403"  # Γαύδος, 142 residents
VALID_VAT = "090000045"
REVIEWERS = [Role.PLATFORM_OPERATOR, Role.MINISTRY_OFFICER]
OTHERS = [role for role in Role if role not in REVIEWERS]


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def emails() -> list[str]:
    """Contact e-mails, unique per test (they become usernames when a request is approved)."""
    return []


@pytest.fixture(autouse=True)
def clean(
    engine: Engine,
    scratch_tenants: Callable[..., list[MunicipalityCode]],
    emails: list[str],
) -> Iterator[None]:
    """Whatever a test leaves behind: requests, identity objects, tenants (schema, registry,
    platform audit: scratch_tenants drops them)."""
    scratch_tenants(*CODES, provision=False)
    yield
    remove_onboarding(engine, CODES, emails)


def payload(emails: list[str], **overrides: Any) -> dict[str, Any]:
    email = f"rep-{uuid.uuid4().hex[:8]}@example.gr"
    emails.append(email)
    body: dict[str, Any] = {
        "municipality_code": "1101",
        "body_type": "municipality",
        "body_legal_name": "Δήμος Κατερίνης",
        "body_vat": VALID_VAT,
        "contact_name": "Ελένη Παππά",
        "contact_email": email,
        "contact_phone": "2351 0 12345",
        "has_social_service": True,
    }
    body.update(overrides)
    return body


def submit(client: FlaskClient, emails: list[str], **overrides: Any) -> TestResponse:
    return client.post(URL, json=payload(emails, **overrides))


def reviewer(
    tokens: TokenFactory, role: Role = Role.PLATFORM_OPERATOR
) -> tuple[dict[str, str], str]:
    """Headers of a reviewer, and the token's subject."""
    claims = tokens.claims(role)
    return {"Authorization": f"Bearer {tokens.sign(claims)}"}, claims["sub"]


def saved(engine: Engine, code: str) -> int:
    return count_rows(engine, OnboardingRequest, OnboardingRequest.municipality_code == code)


def platform_events(engine: Engine, code: str) -> list[tuple[str, str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(PlatformAuditEvent.action, PlatformAuditEvent.actor, PlatformAuditEvent.details)
            .where(PlatformAuditEvent.tenant_code == code)
            .order_by(PlatformAuditEvent.id)
        )
        return [(r.action, r.actor, r.details) for r in rows]


def field_errors(response: TestResponse) -> dict[str, list[str]]:
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    errors: dict[str, list[str]] = response.get_json()["errors"]["json"]
    return errors


# --- submission -------------------------------------------------------------------------------


def test_a_valid_request_is_saved_normalised_and_audited_without_personal_data(
    client: FlaskClient, engine: Engine, emails: list[str]
) -> None:
    response = submit(
        client,
        emails,
        body_type="npdd",
        body_legal_name="  Κοινωνική Αλληλεγγύη Δήμου Κατερίνης (ΝΠΔΔ)  ",
        body_vat="EL 090 000 045",
        contact_phone="+30 2351 012345",
        has_social_service=False,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["municipality_code"] == "1101"
    assert body["municipality_name_el"] == "Δήμος Κατερίνης"
    assert body["body_type"] == "npdd"
    assert body["body_legal_name"] == "Κοινωνική Αλληλεγγύη Δήμου Κατερίνης (ΝΠΔΔ)"
    assert body["body_vat"] == VALID_VAT
    assert body["contact_phone"] == "+302351012345"
    assert body["has_social_service"] is False
    assert body["status"] == "submitted"
    assert body["decided_at"] is None
    assert body["decision_reason"] is None
    assert saved(engine, "1101") == 1
    # The audit names the request by id; the contact stays out of it.
    assert platform_events(engine, "1101") == [
        ("onboarding.submitted", "anonymous", {"request_id": body["id"]})
    ]


def test_an_invalid_vat_is_a_422_in_greek_and_saves_nothing(
    client: FlaskClient, engine: Engine, emails: list[str]
) -> None:
    response = submit(client, emails, body_vat="123456789")
    assert field_errors(response) == {"body_vat": ["Ο ΑΦΜ δεν είναι έγκυρος."]}
    assert saved(engine, "1101") == 0
    assert platform_events(engine, "1101") == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("body_vat", "090000046", "Ο ΑΦΜ δεν είναι έγκυρος."),  # check digit off by one
        ("body_vat", "12345678", "Ο ΑΦΜ δεν είναι έγκυρος."),
        ("body_vat", "0900000450", "Ο ΑΦΜ δεν είναι έγκυρος."),
        ("body_vat", "ΑΦΜ", "Ο ΑΦΜ δεν είναι έγκυρος."),
        ("contact_phone", "12345", "Ο αριθμός τηλεφώνου δεν είναι έγκυρος."),
        ("contact_phone", "τηλέφωνο", "Ο αριθμός τηλεφώνου δεν είναι έγκυρος."),
        (
            "contact_email",
            "not-an-address",
            "Η διεύθυνση ηλεκτρονικού ταχυδρομείου δεν είναι έγκυρη.",
        ),
        ("municipality_code", "9999", "Δεν υπάρχει Δήμος με αυτόν τον κωδικό."),
        ("municipality_code", "110", "Ο κωδικός Δήμου είναι τετραψήφιος (ΕΛΣΤΑΤ), π.χ. 4501."),
        ("body_legal_name", " Δ ", "Το κείμενο πρέπει να έχει από 2 έως 300 χαρακτήρες."),
        ("body_legal_name", "Δ" * 301, "Το κείμενο πρέπει να έχει από 2 έως 300 χαρακτήρες."),
        ("contact_name", 42, "Το πεδίο πρέπει να είναι κείμενο."),
        ("has_social_service", "ίσως", "Η τιμή πρέπει να είναι true ή false."),
        ("has_social_service", None, "Το πεδίο δεν μπορεί να είναι κενό."),
    ],
)
def test_field_validation(
    client: FlaskClient,
    engine: Engine,
    emails: list[str],
    field: str,
    value: Any,
    message: str,
) -> None:
    response = submit(client, emails, **{field: value})
    assert field_errors(response) == {field: [message]}
    assert saved(engine, "1101") == 0


def test_body_type_is_one_of_the_four(client: FlaskClient, emails: list[str]) -> None:
    errors = field_errors(submit(client, emails, body_type="ngo"))
    assert list(errors) == ["body_type"]
    for body_type in ("municipality", "npdd", "public_benefit_enterprise", "other_municipal_body"):
        assert body_type in errors["body_type"][0]


def test_missing_and_unknown_fields_are_reported_together(
    client: FlaskClient, engine: Engine, emails: list[str]
) -> None:
    body = payload(emails, body_vat="123456789", nickname="x")
    del body["has_social_service"]
    errors = field_errors(client.post(URL, json=body))
    assert errors["has_social_service"] == ["Το πεδίο είναι υποχρεωτικό."]
    assert errors["body_vat"] == ["Ο ΑΦΜ δεν είναι έγκυρος."]
    assert "nickname" in errors
    assert saved(engine, "1101") == 0


def test_a_municipality_under_10000_residents_is_told_why_and_saves_nothing(
    client: FlaskClient, engine: Engine, emails: list[str]
) -> None:
    response = submit(client, emails, municipality_code=TOO_SMALL, body_legal_name="Δήμος Γαύδου")
    errors = field_errors(response)
    detail = response.get_json()["detail"]
    assert detail == SMALL_MUNICIPALITY_TEXT  # one language: the request's
    assert errors == {"municipality_code": [detail]}
    english = client.post(
        URL,
        json=payload(emails, municipality_code=TOO_SMALL, body_legal_name="Δήμος Γαύδου"),
        headers={"Accept-Language": "en"},
    )
    assert english.get_json()["detail"] == (
        "The municipality has fewer than 10,000 residents: it cannot have a Community Centre "
        "of its own; a mobile unit of a nearby centre can serve it."
    )
    assert saved(engine, TOO_SMALL) == 0
    assert platform_events(engine, TOO_SMALL) == []


def test_a_second_submission_while_one_waits_is_a_409(
    client: FlaskClient, engine: Engine, emails: list[str]
) -> None:
    assert submit(client, emails).status_code == 201
    again = submit(client, emails, body_type="public_benefit_enterprise")
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert "περιμένει απόφαση" in again.get_json()["detail"]
    assert saved(engine, "1101") == 1


def test_a_municipality_already_on_the_platform_is_a_409(
    client: FlaskClient, engine: Engine, emails: list[str], tenant_a: MunicipalityCode
) -> None:
    response = submit(client, emails, municipality_code=tenant_a.value)
    assert response.status_code == 409
    assert response.get_json()["code"] == "onboarding.already_on_platform"
    assert response.get_json()["detail"] == "Ο Δήμος είναι ήδη στην πλατφόρμα."
    assert saved(engine, tenant_a.value) == 0


def test_a_submission_race_is_settled_by_the_partial_unique_index(engine: Engine) -> None:
    def add(session: Session, status: RequestStatus) -> None:
        decided = status != RequestStatus.SUBMITTED
        OnboardingRequestFactory(
            session=session,
            municipality_code="1102",
            contact_email="race@example.gr",
            status=status,
            decision_reason="Διπλή αίτηση." if decided else None,
            decided_by="test" if decided else None,
            decided_at=utcnow() if decided else None,
        )

    with Session(engine) as session, session.begin():
        add(session, RequestStatus.REJECTED)
        add(session, RequestStatus.SUBMITTED)  # a decided request does not count
    with (
        pytest.raises(IntegrityError, match="uq_onboarding_requests_one_submitted"),
        Session(engine) as session,
        session.begin(),
    ):
        add(session, RequestStatus.SUBMITTED)


# --- who may review ---------------------------------------------------------------------------


def test_only_platform_operators_and_ministry_officers_hold_the_review_permission() -> None:
    holders = {r for r in Role if Permission.PLATFORM_ONBOARDING_REVIEW in ROLE_PERMISSIONS[r]}
    assert holders == set(REVIEWERS)


def review_calls(request_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", URL, None),
        ("GET", f"{URL}?status=submitted", None),
        ("GET", f"{URL}/{request_id}", None),
        ("POST", f"{URL}/{request_id}/approve", {}),
        ("POST", f"{URL}/{request_id}/reject", {"reason": "Ελλιπή στοιχεία."}),
    ]


@pytest.mark.parametrize("role", [None, *OTHERS])
def test_review_is_refused_to_everyone_else(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    emails: list[str],
    role: Role | None,
) -> None:
    request_id = submit(client, emails).get_json()["id"]
    # Municipality roles of the very municipality that asked are refused too.
    headers = tokens.headers(role, municipality="1101", region="EL12") if role else {}
    for method, url, body in review_calls(request_id):
        response = client.open(url, method=method, headers=headers, json=body)
        assert response.status_code == (401 if role is None else 403), (method, url)
        assert response.mimetype == "application/problem+json"
    assert request_status(engine, request_id) == "submitted"
    assert "1101" not in registry_codes(engine)


@pytest.mark.parametrize("role", REVIEWERS)
def test_reviewers_list_filter_and_read_requests(
    client: FlaskClient, tokens: TokenFactory, emails: list[str], role: Role
) -> None:
    first = submit(client, emails).get_json()
    second = submit(client, emails, municipality_code="1102").get_json()
    headers, _ = reviewer(tokens, role)
    rejected = client.post(
        f"{URL}/{second['id']}/reject", headers=headers, json={"reason": "Λάθος φορέας."}
    )
    assert rejected.status_code == 200

    listed = client.get(URL, headers=headers)
    assert listed.status_code == 200
    ids = [r["id"] for r in listed.get_json()]
    assert ids.index(second["id"]) < ids.index(first["id"])  # newest first
    waiting = client.get(URL, headers=headers, query_string={"status": "submitted"}).get_json()
    assert first["id"] in {r["id"] for r in waiting}
    assert {r["status"] for r in waiting} == {"submitted"}
    decided = client.get(URL, headers=headers, query_string={"status": "rejected"}).get_json()
    assert second["id"] in {r["id"] for r in decided}
    assert first["id"] not in {r["id"] for r in decided}

    one = client.get(f"{URL}/{first['id']}", headers=headers)
    assert one.status_code == 200
    assert one.get_json() == first
    assert client.get(f"{URL}/999999999", headers=headers).status_code == 404
    assert client.get(URL, headers=headers, query_string={"status": "pending"}).status_code == 422
    assert client.get(URL, headers=headers, query_string={"state": "x"}).status_code == 422


def test_every_read_of_requests_is_audited_by_id_only(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, emails: list[str]
) -> None:
    created = submit(client, emails, contact_email="Audit.Me@Example.gr").get_json()
    emails.append("audit.me@example.gr")
    reviewer_subject = f"reviewer-{uuid.uuid4().hex[:8]}"
    headers = tokens.headers(Role.MINISTRY_OFFICER, sub=reviewer_subject)
    assert client.get(URL, headers=headers).status_code == 200
    assert client.get(f"{URL}/{created['id']}", headers=headers).status_code == 200
    assert client.get(f"{URL}/999999999", headers=headers).status_code == 404  # nothing read
    with engine.connect() as conn:
        rows = conn.execute(
            select(PlatformAuditEvent.action, PlatformAuditEvent.details)
            .where(PlatformAuditEvent.actor == reviewer_subject)
            .order_by(PlatformAuditEvent.id)
        ).all()
    assert [action for action, _details in rows] == ["onboarding.read", "onboarding.read"]
    assert created["id"] in rows[0].details["request_ids"]
    assert rows[1].details == {"request_ids": [created["id"]]}
    assert "audit.me" not in str(rows).lower()  # the contact details never reach the audit
    with engine.begin() as conn:
        conn.execute(delete(PlatformAuditEvent).where(PlatformAuditEvent.actor == reviewer_subject))


# --- decisions --------------------------------------------------------------------------------


def test_approval_provisions_the_tenant_its_organization_and_invites_the_admin(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, emails: list[str]
) -> None:
    created = submit(
        client, emails, municipality_code="1201", contact_email="Rep.Serron@Example.gr"
    ).get_json()
    emails.append("rep.serron@example.gr")
    headers, subject = reviewer(tokens, Role.MINISTRY_OFFICER)

    response = client.post(f"{URL}/{created['id']}/approve", headers=headers, json={})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "approved"
    assert body["decided_by"] == subject
    assert body["decided_at"] is not None
    assert body["decision_reason"] is None

    # The tenant: schema, active registry row, has_social_service in its settings.
    assert "m_1201" in tenant_schemas(engine)
    with engine.connect() as conn:
        assert conn.scalar(select(Tenant.status).where(Tenant.code == "1201")) == "active"
    with tenant_session(engine, parse_municipality_code("1201")) as session:
        settings = dict(session.execute(select(TenantSetting.key, TenantSetting.value)).all())
        audit = [
            tuple(row) for row in session.execute(select(AuditEvent.action, AuditEvent.object_id))
        ]
    assert settings["has_social_service"] is True
    assert settings["locale"] == "el"  # the provisioning defaults are there too
    assert ("setting.set", "has_social_service") in audit

    # The identity organization and the invited admin (no password: cannot log in yet).
    with engine.connect() as conn:
        organization = conn.execute(
            select(IdentityOrganization).where(IdentityOrganization.alias == "m-1201")
        ).one()
        assert organization.name == "Δήμος Σερρών"
        user = conn.execute(
            select(IdentityUser).where(IdentityUser.username == "rep.serron@example.gr")
        ).one()
        assert user.email == "Rep.Serron@Example.gr"
        assert (user.first_name, user.last_name) == ("Ελένη", "Παππά")  # the contact's name
        assert user.password_hash is None
        assert user.enabled is True
        roles = set(
            conn.scalars(select(IdentityUserRole.role).where(IdentityUserRole.user_id == user.id))
        )
        assert roles == {Role.MUNICIPALITY_ADMIN}
        members = set(
            conn.scalars(
                select(IdentityOrganizationMember.user_id).where(
                    IdentityOrganizationMember.organization_id == organization.id
                )
            )
        )
        assert members == {user.id}

    events = platform_events(engine, "1201")
    assert [(action, actor) for action, actor, _ in events] == [
        ("onboarding.submitted", "anonymous"),
        ("tenant.provisioned", subject),
        ("onboarding.approved", subject),
    ]
    assert events[-1][2] == {"request_id": created["id"]}

    # The municipality is now on the platform: decided once, and no new signup.
    again = client.post(f"{URL}/{created['id']}/approve", headers=headers, json={})
    assert again.status_code == 409
    assert again.get_json()["code"] == "onboarding.already_decided"
    assert again.get_json()["detail"] == "Για την αίτηση έχει ήδη ληφθεί απόφαση (εγκρίθηκε)."
    english = client.post(
        f"{URL}/{created['id']}/approve", headers={**headers, "Accept-Language": "en"}, json={}
    )
    assert english.get_json()["detail"] == "The request has already been decided (approved)."
    rejected = client.post(
        f"{URL}/{created['id']}/reject", headers=headers, json={"reason": "Δεύτερη σκέψη."}
    )
    assert rejected.status_code == 409
    assert submit(client, emails, municipality_code="1201").status_code == 409


def test_a_rejection_needs_a_reason_and_is_final(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, emails: list[str]
) -> None:
    created = submit(client, emails, municipality_code="1102").get_json()
    headers, subject = reviewer(tokens)
    url = f"{URL}/{created['id']}/reject"

    assert field_errors(client.post(url, headers=headers, json={})) == {
        "reason": ["Το πεδίο είναι υποχρεωτικό."]
    }
    assert list(field_errors(client.post(url, headers=headers))) == ["reason"]  # no body
    assert field_errors(client.post(url, headers=headers, json={"reason": "  όχ "})) == {
        "reason": ["Το κείμενο πρέπει να έχει από 3 έως 1000 χαρακτήρες."]
    }
    assert list(field_errors(client.post(url, headers=headers, json={"reason": "x" * 1001})))

    response = client.post(url, headers=headers, json={"reason": "  Ο ΑΦΜ δεν ανήκει στον Δήμο. "})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "rejected"
    assert body["decision_reason"] == "Ο ΑΦΜ δεν ανήκει στον Δήμο."
    assert body["decided_by"] == subject
    assert "1102" not in registry_codes(engine)
    assert platform_events(engine, "1102")[-1] == (
        "onboarding.rejected",
        subject,
        {"request_id": created["id"]},
    )

    assert client.post(url, headers=headers, json={"reason": "Ξανά."}).status_code == 409
    approve = client.post(f"{URL}/{created['id']}/approve", headers=headers, json={})
    assert approve.status_code == 409
    assert "1102" not in registry_codes(engine)
    # A rejected municipality may ask again.
    assert submit(client, emails, municipality_code="1102").status_code == 201


def test_deciding_an_unknown_request_is_a_404(client: FlaskClient, tokens: TokenFactory) -> None:
    headers, _ = reviewer(tokens)
    for action, body in (("approve", {}), ("reject", {"reason": "Άγνωστη."})):
        response = client.post(f"{URL}/999999999/{action}", headers=headers, json=body)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"


def test_an_approval_that_fails_halfway_leaves_the_request_open_and_a_retry_completes(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    emails: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = submit(client, emails, municipality_code="1103").get_json()
    headers, _ = reviewer(tokens)
    real = onboarding_blueprint.identity_admin
    monkeypatch.setattr(
        onboarding_blueprint, "identity_admin", failing_provider(real, "ensure_user")
    )
    failed = client.post(f"{URL}/{created['id']}/approve", headers=headers, json={})
    assert failed.status_code == 500
    assert failed.mimetype == "application/problem+json"
    # The tenant is there (provisioning is idempotent), the request is still open.
    assert "1103" in registry_codes(engine)
    opened = client.get(f"{URL}/{created['id']}", headers=headers).get_json()
    assert opened["status"] == "submitted"
    assert opened["decided_by"] is None

    monkeypatch.setattr(onboarding_blueprint, "identity_admin", real)
    retried = client.post(f"{URL}/{created['id']}/approve", headers=headers, json={})
    assert retried.status_code == 200
    assert retried.get_json()["status"] == "approved"
    assert count_rows(engine, IdentityUser, IdentityUser.username == created["contact_email"]) == 1
    actions = [action for action, _, _ in platform_events(engine, "1103")]
    assert actions.count("tenant.provisioned") == 1
    assert actions.count("onboarding.approved") == 1


def test_approval_refuses_a_tenant_archived_since_the_request(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    emails: list[str],
    scratch_tenants: Callable[..., list[MunicipalityCode]],
) -> None:
    created = submit(client, emails, municipality_code="1103").get_json()
    scratch_tenants("1103")  # an operator created it from the CLI meanwhile, then archived it
    change_status(engine, "1103", TenantStatus.ARCHIVED, actor="test")
    headers, _ = reviewer(tokens)
    response = client.post(f"{URL}/{created['id']}/approve", headers=headers, json={})
    assert response.status_code == 409
    assert response.get_json()["code"] == "onboarding.tenant_not_active"
    assert request_status(engine, created["id"]) == "submitted"


def test_approval_refuses_a_municipality_no_longer_eligible(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    # Submitted under an earlier policy (written directly: today's policy refuses it).
    with Session(engine) as session, session.begin():
        request_id = OnboardingRequestFactory(
            session=session,
            municipality_code=TOO_SMALL,
            body_legal_name="Δήμος Γαύδου",
            contact_email="gavdos@example.gr",
            has_social_service=False,
        ).id
    headers, _ = reviewer(tokens)
    try:
        response = client.post(f"{URL}/{request_id}/approve", headers=headers, json={})
        assert response.status_code == 409
        assert response.get_json()["detail"] == SMALL_MUNICIPALITY_TEXT
        assert TOO_SMALL not in registry_codes(engine)
        rejected = client.post(
            f"{URL}/{request_id}/reject", headers=headers, json={"reason": "Κάτω από το όριο."}
        )
        assert rejected.status_code == 200
    finally:
        with engine.begin() as conn:
            conn.execute(delete(OnboardingRequest).where(OnboardingRequest.id == request_id))
            conn.execute(
                delete(PlatformAuditEvent).where(PlatformAuditEvent.tenant_code == TOO_SMALL)
            )


# --- the operations, called directly ----------------------------------------------------------


def test_operations_refuse_what_the_schema_would_have_caught(
    engine: Engine, emails: list[str]
) -> None:
    with Session(engine) as session:
        with pytest.raises(DomainError) as unknown:
            submit_request(session, payload(emails, municipality_code="9999"))
        assert unknown.value.field == "municipality_code"
        assert unknown.value.code == "onboarding.unknown_municipality"
        with pytest.raises(ValueError, match="needs a reason"):
            reject_request(session, 1, actor="test", reason="  ")
        session.rollback()


def test_a_concurrent_double_submission_is_a_conflict(
    engine: Engine, emails: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two submissions that both passed the check: the partial unique index refuses the
    second, and the operation answers with the same conflict as the check."""
    with Session(engine) as session, session.begin():
        submit_request(session, payload(emails, municipality_code="1102"))
    monkeypatch.setattr(onboarding_operations, "_open_request_exists", lambda *_: False)
    with Session(engine) as session:
        with pytest.raises(DomainError) as refused:
            submit_request(session, payload(emails, municipality_code="1102"))
        assert (refused.value.code, refused.value.status) == ("onboarding.already_submitted", 409)
        session.rollback()
    assert saved(engine, "1102") == 1
