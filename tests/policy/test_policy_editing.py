"""Policy as data, edited by the ministry: the history, a new version's validation (nothing
half-saved), the recompute job run by the real worker with its progress, the pages, and who
may do it. Scratch municipalities: 5004 (38,033 residents) only; every version and job a test
creates is removed afterwards and the summary recomputed under the policy left in force.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from subprocess import Popen
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from kentra.auth.roles import Role
from kentra.platform.compliance.models import CentreCompliance
from kentra.platform.compliance.operations import STAFF_BELOW_MINIMUM, recompute_tenant, today
from kentra.platform.policy.models import PolicyVersion, ProfessionalProfile, StaffingBand
from kentra.platform.policy.operations import INITIAL_BANDS, INITIAL_PROFILES, policy_in_force
from kentra.tasks.models import FanoutRun, RunStatus
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus
from tests.compliance import test_compliance as helpers
from tests.compliance.test_compliance import compliant_centre, stored, text
from tests.helpers import csrf_token_of
from tests.tokens import TokenFactory
from tests.worker_support import wait_for_run

VERSIONS = "/api/v1/policy/versions"
tenants = helpers.tenants  # the fixture: scratch tenants and their summary rows removed


def body(**overrides: Any) -> dict[str, Any]:
    """A valid new version: the programme's policy with 3 people for 10,000–40,000."""
    data: dict[str, Any] = {
        "valid_from": today().isoformat(),
        "note": "Δοκιμή: 3 άτομα για 10.000–40.000 κατοίκους",
        "head_profile_code": "social_worker",
        "bands": [
            {"min_population": 0, "max_population": 9_999, "minimum_staff": 0},
            {"min_population": 10_000, "max_population": 40_000, "minimum_staff": 3},
            {"min_population": 40_001, "max_population": 100_000, "minimum_staff": 3},
            {"min_population": 100_001, "max_population": None, "minimum_staff": 4},
        ],
        "profiles": [
            {"code": code, "name_el": el, "name_en": en, "mandatory": mandatory}
            for code, el, en, mandatory in INITIAL_PROFILES
        ],
    }
    data.update(overrides)
    return data


def versions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(PolicyVersion)) or 0)


@pytest.fixture(autouse=True)
def restore_policy(engine: Engine) -> Iterator[None]:
    """Remove the versions and jobs a test created, then recompute every tenant under the
    policy left in force (the summary must not point at a removed version)."""
    with engine.connect() as conn:
        before = set(conn.scalars(select(PolicyVersion.id)))
    yield
    with engine.connect() as conn:
        created = [v for v in conn.scalars(select(PolicyVersion.id)) if v not in before]
    if not created:
        return
    # A queued run no worker took is closed (a late dispatch sends nothing); a running one ends.
    of_created = FanoutRun.details["policy_version_id"].as_integer().in_(created)
    with engine.begin() as conn:
        conn.execute(
            update(FanoutRun)
            .where(of_created, FanoutRun.status == RunStatus.QUEUED)
            .values(status=RunStatus.FAILED, started_at=func.now(), finished_at=func.now())
        )
        runs = list(conn.scalars(select(FanoutRun.id).where(of_created)))
    for run_id in runs:
        wait_for_run(engine, run_id)
    with Session(engine) as session, session.begin():
        keep = policy_in_force(session)
        while keep is not None and keep.id in created:
            keep = policy_in_force(session, keep.valid_from - timedelta(days=1))
        assert keep is not None
        session.execute(
            update(CentreCompliance)
            .where(CentreCompliance.policy_version_id.in_(created))
            .values(policy_version_id=keep.id)
        )
        session.execute(delete(FanoutRun).where(FanoutRun.id.in_(runs)))
        session.execute(delete(StaffingBand).where(StaffingBand.policy_version_id.in_(created)))
        session.execute(
            delete(ProfessionalProfile).where(ProfessionalProfile.policy_version_id.in_(created))
        )
        session.execute(delete(PolicyVersion).where(PolicyVersion.id.in_(created)))
        codes = list(
            session.scalars(select(Tenant.code).where(Tenant.status == TenantStatus.ACTIVE))
        )
    for code in codes:
        with tenant_session(engine, parse_municipality_code(code)) as tenant:
            recompute_tenant(tenant, code)


def ministry(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(Role.MINISTRY_OFFICER)


# --- the history -------------------------------------------------------------------------------


def test_the_history_lists_every_version_newest_first_with_the_one_in_force(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    response = client.get(VERSIONS, headers=ministry(tokens))
    assert response.status_code == 200
    found = response.get_json()
    assert found[-1]["valid_from"] == "2019-01-01"
    assert [v["valid_from"] for v in found] == sorted(
        (v["valid_from"] for v in found), reverse=True
    )
    assert sum(v["in_force"] for v in found) == 1
    initial = found[-1]
    assert [
        (b["min_population"], b["max_population"], b["minimum_staff"]) for b in initial["bands"]
    ] == [tuple(b) for b in INITIAL_BANDS]
    assert initial["head_profile_code"] == "social_worker"


@pytest.mark.parametrize(
    "role",
    [
        Role.PLATFORM_OPERATOR,
        Role.REGIONAL_OFFICER,
        Role.SUPERVISOR_OPERATIONAL,
        Role.MUNICIPALITY_ADMIN,
        Role.CENTRE_HEAD,
        Role.STAFF,
    ],
)
def test_only_the_ministry_edits_the_policy(
    client: FlaskClient, tokens: TokenFactory, engine: Engine, role: Role
) -> None:
    headers = tokens.headers(role, municipality="4501", region="EL30")
    count = versions(engine)
    assert client.get(VERSIONS, headers=headers).status_code == 403
    assert client.post(VERSIONS, headers=headers, json=body()).status_code == 403
    assert client.get("/api/v1/policy/jobs/1", headers=headers).status_code == 403
    assert client.get("/ministry/policy", headers=headers).status_code == 403
    assert versions(engine) == count
    assert client.get(VERSIONS).status_code == 401


# --- validation: 422 with the reason, nothing saved ------------------------------------------------


def _bands(*rows: tuple[int, int | None, int]) -> list[dict[str, Any]]:
    return [{"min_population": a, "max_population": b, "minimum_staff": c} for a, b, c in rows]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"bands": _bands((0, 9_999, 0), (10_001, None, 2))}, "bands", "Κενό στις ζώνες"),
        ({"bands": _bands((0, 10_000, 0), (10_000, None, 2))}, "bands", "επικαλύπτονται"),
        ({"bands": _bands((0, 9_999, 0), (5_000, None, 2))}, "bands", "επικαλύπτονται"),
        ({"bands": _bands((1, 9_999, 0), (10_000, None, 2))}, "bands", "από πληθυσμό 0"),
        ({"bands": _bands((0, 9_999, 0), (10_000, 50_000, 2))}, "bands", "ανοιχτή"),
        ({"bands": _bands((0, 9_999, 0), (10_000, 5, 2))}, "bands", "μικρότερο"),
        ({"head_profile_code": "nurse"}, "head_profile_code", "Υπευθύνου Κέντρου"),
        (
            {"valid_from": (today() - timedelta(days=1)).isoformat()},
            "valid_from",
            "αναδρομικά",
        ),
    ],
)
def test_an_invalid_version_is_a_422_with_the_reason_and_saves_nothing(
    client: FlaskClient,
    tokens: TokenFactory,
    engine: Engine,
    overrides: dict[str, Any],
    field: str,
    message: str,
) -> None:
    count = versions(engine)
    response = client.post(VERSIONS, headers=ministry(tokens), json=body(**overrides))
    assert response.status_code == 422
    problem = response.get_json()
    assert message in problem["detail"]
    assert message in problem["errors"]["json"][field][0]
    assert versions(engine) == count


def test_schema_errors_are_422_too(
    client: FlaskClient, tokens: TokenFactory, engine: Engine
) -> None:
    count = versions(engine)
    for bad in (
        body(bands=[]),
        body(bands=_bands((0, None, -1))),
        body(profiles=[{"code": "Bad Code", "name_el": "Χ", "name_en": "X"}]),
        body(valid_from="tomorrow"),
        body(extra=True),
        {},
    ):
        assert client.post(VERSIONS, headers=ministry(tokens), json=bad).status_code == 422
    assert versions(engine) == count


def test_a_taken_date_is_a_409(client: FlaskClient, tokens: TokenFactory, engine: Engine) -> None:
    future = (today() + timedelta(days=400)).isoformat()
    first = client.post(VERSIONS, headers=ministry(tokens), json=body(valid_from=future))
    assert first.status_code == 201
    count = versions(engine)
    again = client.post(VERSIONS, headers=ministry(tokens), json=body(valid_from=future))
    assert again.status_code == 409
    assert "υπάρχει ήδη" in again.get_json()["detail"].lower()
    assert versions(engine) == count
    # A future version is history, not yet in force.
    listed = client.get(VERSIONS, headers=ministry(tokens)).get_json()
    assert listed[0]["valid_from"] == future
    assert listed[0]["in_force"] is False


# --- the recompute, through the real worker ------------------------------------------------------


def wait_for_job(client: FlaskClient, headers: dict[str, str], job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        job: dict[str, Any] = client.get(
            f"/api/v1/policy/jobs/{job_id}", headers=headers
        ).get_json()
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def test_a_new_version_recomputes_every_centre_through_the_worker(
    client: FlaskClient,
    tokens: TokenFactory,
    engine: Engine,
    worker: Popen[bytes],
    tenants: Callable[..., list[MunicipalityCode]],
) -> None:
    tenants("5004")  # 38,033 residents: 2 under the programme's policy
    centre = compliant_centre(engine, "5004", staff=2)
    before = stored(engine, "5004", centre)
    assert before is not None
    assert (before.status.value, before.required_staff) == ("compliant", 2)

    response = client.post(VERSIONS, headers=ministry(tokens), json=body())
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["in_force"] is True
    job = created["recompute_job"]
    assert job["status"] == "queued"

    finished = wait_for_job(client, ministry(tokens), job["id"])
    assert finished["status"] == "done", finished
    assert finished["done"] == finished["total"]
    assert finished["failed"] == 0
    with engine.connect() as conn:
        active = conn.scalar(
            select(func.count()).select_from(Tenant).where(Tenant.status == TenantStatus.ACTIVE)
        )
    assert finished["total"] == active
    after = stored(engine, "5004", centre)
    assert after is not None
    assert after.status.value == "non_compliant"
    assert after.unmet == [STAFF_BELOW_MINIMUM]
    assert (after.staff_count, after.required_staff) == (2, 3)
    assert after.policy_version_id == created["id"]


def test_an_unknown_job_is_a_404(client: FlaskClient, tokens: TokenFactory) -> None:
    response = client.get("/api/v1/policy/jobs/987654321", headers=ministry(tokens))
    assert response.status_code == 404
    assert (
        client.get("/ministry/policy/jobs/987654321", headers=ministry(tokens)).status_code == 404
    )


# --- the pages --------------------------------------------------------------------------------------


def csrf(client: FlaskClient, headers: dict[str, str]) -> str:
    return csrf_token_of(client, "/ministry/policy", headers)


def form(**overrides: str) -> dict[str, str]:
    data = {
        "valid_from": today().isoformat(),
        "note": "Νέα κατανομή",
        "head_profile_code": "social_worker",
    }
    for i, (low, high, staff) in enumerate(((0, 9_999, 0), (10_000, 40_000, 3), (40_001, None, 4))):
        data[f"bands-{i}-min_population"] = str(low)
        data[f"bands-{i}-max_population"] = "" if high is None else str(high)
        data[f"bands-{i}-minimum_staff"] = str(staff)
    for i, (code, el, en, mandatory) in enumerate(INITIAL_PROFILES):
        data[f"profiles-{i}-code"] = code
        data[f"profiles-{i}-name_el"] = el
        data[f"profiles-{i}-name_en"] = en
        if mandatory:
            data[f"profiles-{i}-mandatory"] = "true"
    data.update(overrides)
    return data


def test_the_policy_page_shows_the_version_in_force_and_a_prefilled_form(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    response = client.get("/ministry/policy", headers=ministry(tokens))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Πολιτική στελέχωσης" in page
    assert 'name="bands-1-min_population" value="10000"' in page
    assert 'name="bands-3-max_population" value=""' in page  # open-ended
    assert 'name="profiles-0-code" value="economist"' in page
    assert '<label class="visually-hidden" for="bands-0-min_population">' in page
    assert 'name="csrf_token"' in page


def test_a_refused_form_keeps_every_typed_value(
    client: FlaskClient, tokens: TokenFactory, engine: Engine
) -> None:
    headers = ministry(tokens)
    count = versions(engine)
    data = form(**{"bands-1-min_population": "10005", "note": "Κρατήστε αυτό το σημείωμα"})
    response = client.post(
        "/ministry/policy", headers=headers, data={**data, "csrf_token": csrf(client, headers)}
    )
    assert response.status_code == 422
    page = text(response)
    assert "Κενό στις ζώνες" in page
    assert 'value="10005"' in page
    assert "Κρατήστε αυτό το σημείωμα" in page
    bad_cell = form(**{"bands-2-minimum_staff": "πολλά"})
    response = client.post(
        "/ministry/policy", headers=headers, data={**bad_cell, "csrf_token": csrf(client, headers)}
    )
    assert response.status_code == 422
    raw = response.get_data(as_text=True)
    assert 'id="bands-2-minimum_staff"' in raw
    assert 'aria-invalid="true"' in raw
    assert 'href="#bands-2-minimum_staff"' in raw
    assert versions(engine) == count
    assert client.post("/ministry/policy", headers=headers, data=data).status_code == 400
    assert versions(engine) == count


def test_a_valid_form_redirects_to_the_job_and_its_progress_page(
    client: FlaskClient, tokens: TokenFactory, engine: Engine
) -> None:
    headers = ministry(tokens)
    data = form(valid_from=(today() + timedelta(days=500)).isoformat())
    response = client.post(
        "/ministry/policy", headers=headers, data={**data, "csrf_token": csrf(client, headers)}
    )
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.fullmatch(r"/ministry/policy/jobs/[0-9]+", location)
    page = client.get(location, headers=headers)
    assert page.status_code == 200
    raw = page.get_data(as_text=True)
    assert "<progress" in raw
    assert 'aria-live="polite"' in raw
    # Queued (no worker in this test) or already done: a running job refreshes itself.
    with engine.connect() as conn:
        status = conn.scalar(
            select(FanoutRun.status).where(FanoutRun.id == int(location.rsplit("/", 1)[1]))
        )
    if status in (RunStatus.QUEUED, RunStatus.RUNNING):
        assert page.headers["Refresh"] == "3"
        assert f'href="{location}"' in raw
    again = client.post(
        "/ministry/policy", headers=headers, data={**data, "csrf_token": csrf(client, headers)}
    )
    assert again.status_code == 409
    assert "υπάρχει ήδη έκδοση" in text(again)
