"""Computed compliance: each item flips the status as the data changes — the change
publishes its event, and the real worker recomputes after the commit (ADR 0035); the staffing
boundaries through compliance; the municipality's and the overview's API and pages, and who
sees what.

The helpers write rows directly, and publish as an operation does (``tests.worker_support
.delivered`` waits for the worker's recompute).

Municipalities used here and in tests/policy/test_policy_editing.py only (prefix 50xx–59xx):
5001 (Φυλής, 30,147, seat of Δυτική Αττική), 5004 (Ελευσίνας, 38,033 → 2), 5005 (Ασπροπύργου,
48,157 → 3), 5104 (Πειραιώς region, 103,488 → 4), 5401 (8,843 → no centre of its own),
5601 (Βόρειο Αιγαίο EL41, 20,025 → 2). Their tenants and summary rows are removed afterwards.
"""

from __future__ import annotations

import html
import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from kentra.auth.roles import Role
from kentra.platform.compliance.models import CentreCompliance, ComplianceStatus
from kentra.platform.compliance.operations import (
    ADVISORY_PREMISES,
    HEAD_MISSING,
    ITEMS,
    MANDATORY_PREMISES,
    REGULATION_MISSING,
    STAFF_BELOW_MINIMUM,
    today,
)
from kentra.platform.compliance.views import ITEM_PAGES
from kentra.platform.regulations.events import RegulationChanged
from kentra.platform.regulations.models import RegulationStatus, RegulationVersion
from kentra.platform.staff.events import StaffChanged
from kentra.platform.staff.models import StaffMember
from kentra.platform.units.events import UnitChanged
from kentra.platform.units.models import Unit, UnitKind
from kentra.tasks.events import Event, publish
from kentra.tenants.binding import TenantSession, tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.models import Tenant
from tests.api.test_paging import links, walk
from tests.factories import (
    Factory,
    RegulationVersionFactory,
    StaffMemberFactory,
    SubUnitFactory,
    UnitFactory,
)
from tests.tokens import TokenFactory
from tests.worker_support import delivered

SCRATCH = ("5001", "5004", "5005", "5104", "5401", "5601")


# --- helpers (also used by tests/policy/test_policy_editing.py) -------------------------------------


EVENTS: dict[type[Any], Callable[[int], Event]] = {
    Unit: UnitChanged,
    StaffMember: StaffChanged,
    RegulationVersion: RegulationChanged,
}


@contextmanager
def written(engine: Engine, code: str) -> Iterator[TenantSession]:
    """A tenant transaction whose recompute (sent after its commit) has run when the block
    ends: the caller publishes what it changed."""
    with delivered(), tenant_session(engine, parse_municipality_code(code)) as session:
        yield session


@pytest.fixture
def tenants(
    engine: Engine,
    scratch_tenants: Callable[..., list[MunicipalityCode]],
    worker: subprocess.Popen[bytes],
) -> Iterator[Callable[..., list[MunicipalityCode]]]:
    """scratch_tenants, and their summary rows removed afterwards (the shared table outlives
    the dropped schemas); the real worker recomputes."""
    made: list[str] = []

    def make(*codes: str) -> list[MunicipalityCode]:
        assert all(code in SCRATCH for code in codes)
        made.extend(codes)
        return scratch_tenants(*codes)

    yield make
    with engine.begin() as conn:
        conn.execute(delete(CentreCompliance).where(CentreCompliance.municipality_code.in_(made)))


def add_centre(
    engine: Engine, code: str, *, name: str = "Κέντρο Κοινότητας", premises: bool = True
) -> int:
    return added(engine, code, UnitFactory, name=name, premises=premises)


def add_unit(engine: Engine, code: str, centre_id: int, kind: UnitKind, segment: str) -> int:
    with written(engine, code) as session:
        centre = session.get_one(Unit, centre_id)
        unit = SubUnitFactory(session=session, parent=centre, kind=kind, unit=segment, name=segment)
        publish(session, UnitChanged(unit.id))
    return unit.id


def add_staff(
    engine: Engine,
    code: str,
    unit_id: int,
    *,
    profile: str = "psychologist",
    head: bool = False,
    start: date | None = None,
    end: date | None = None,
) -> int:
    return added(
        engine,
        code,
        StaffMemberFactory,
        unit_id=unit_id,
        email="test@example.invalid",
        profile_code=profile,
        start_date=start or today() - timedelta(days=30),
        end_date=end,
        is_head=head,
    )


def add_regulation(
    engine: Engine,
    code: str,
    centre_id: int,
    *,
    status: RegulationStatus = RegulationStatus.SUBMITTED,
    effective: date | None = None,
) -> int:
    return added(
        engine,
        code,
        RegulationVersionFactory,
        centre_id=centre_id,
        status=status,
        effective_date=effective or today(),
    )


def added(engine: Engine, code: str, make: type[Factory], **values: Any) -> int:
    """A row made by ``make``, committed with its event published (the worker recomputes)."""
    with written(engine, code) as session:
        row = make(session=session, **values)
        publish(session, EVENTS[make._meta.model](row.id))
    return int(row.id)


def compliant_centre(engine: Engine, code: str, staff: int = 2) -> int:
    """A centre meeting every item with ``staff`` people (the head included)."""
    centre_id = add_centre(engine, code)
    add_staff(engine, code, centre_id, profile="social_worker", head=True)
    for _ in range(staff - 1):
        add_staff(engine, code, centre_id)
    add_regulation(engine, code, centre_id)
    return centre_id


def stored(engine: Engine, code: str, centre_id: int) -> CentreCompliance | None:
    with Session(engine) as session:
        return session.get(CentreCompliance, (code, centre_id))


def change(engine: Engine, code: str, model: type[Any], row_id: int, **values: Any) -> None:
    with written(engine, code) as session:
        row = session.get_one(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        publish(session, EVENTS[model](row_id))


def set_social_service(engine: Engine, values: dict[str, bool]) -> None:
    with engine.begin() as conn:
        for code, has in values.items():
            conn.execute(update(Tenant).where(Tenant.code == code).values(has_social_service=has))


def text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


# --- each item flips the status, in the same transaction --------------------------------------


def test_each_item_flips_the_status_as_the_data_changes(
    engine: Engine, tenants: Callable[..., list[MunicipalityCode]]
) -> None:
    tenants("5004")  # 38,033 residents: 2 staff
    centre = add_centre(engine, "5004", premises=False)
    row = stored(engine, "5004", centre)
    assert row is not None
    assert row.status is ComplianceStatus.NON_COMPLIANT
    assert row.unmet == [
        STAFF_BELOW_MINIMUM,
        HEAD_MISSING,
        *MANDATORY_PREMISES,
        REGULATION_MISSING,
    ]
    assert (row.staff_count, row.required_staff) == (0, 2)

    head = add_staff(engine, "5004", centre, profile="social_worker", head=True)
    row = stored(engine, "5004", centre)
    assert row is not None
    assert HEAD_MISSING not in row.unmet
    assert STAFF_BELOW_MINIMUM in row.unmet
    assert row.staff_count == 1

    add_staff(engine, "5004", centre)
    row = stored(engine, "5004", centre)
    assert row is not None
    assert STAFF_BELOW_MINIMUM not in row.unmet
    assert row.staff_count == 2

    change(engine, "5004", Unit, centre, **dict.fromkeys(MANDATORY_PREMISES, True))
    row = stored(engine, "5004", centre)
    assert row is not None
    assert row.unmet == [REGULATION_MISSING]

    regulation = add_regulation(engine, "5004", centre)
    row = stored(engine, "5004", centre)
    assert row is not None
    assert row.status is ComplianceStatus.COMPLIANT
    assert row.unmet == []

    # Each item back: the status follows.
    change(engine, "5004", Unit, centre, premises_accessible=False)
    row = stored(engine, "5004", centre)
    assert row is not None
    assert row.unmet == ["premises_accessible"]
    change(engine, "5004", Unit, centre, premises_accessible=True)
    change(engine, "5004", RegulationVersion, regulation, status=RegulationStatus.RETURNED)
    row = stored(engine, "5004", centre)
    assert row is not None
    assert row.unmet == [REGULATION_MISSING]
    change(engine, "5004", RegulationVersion, regulation, status=RegulationStatus.ACKNOWLEDGED)
    change(engine, "5004", StaffMember, head, end_date=today() - timedelta(days=1))
    row = stored(engine, "5004", centre)
    assert row is not None
    assert row.unmet == [STAFF_BELOW_MINIMUM, HEAD_MISSING]


def test_the_summary_follows_a_commit_and_never_a_rollback(
    engine: Engine, tenants: Callable[..., list[MunicipalityCode]]
) -> None:
    tenants("5004")
    centre = compliant_centre(engine, "5004")
    assert stored(engine, "5004", centre).status is ComplianceStatus.COMPLIANT  # type: ignore[union-attr]
    with (
        delivered() as sent,
        pytest.raises(RuntimeError),
        tenant_session(engine, parse_municipality_code("5004")) as session,
    ):
        session.get_one(Unit, centre).premises_accessible = False
        session.flush()
        publish(session, UnitChanged(centre))
        raise RuntimeError("undone")
    assert sent == []  # nothing sent for a rolled-back change
    assert stored(engine, "5004", centre).status is ComplianceStatus.COMPLIANT  # type: ignore[union-attr]
    with written(engine, "5004") as session:
        session.get_one(Unit, centre).premises_accessible = False
        session.flush()
        publish(session, UnitChanged(centre))
        before = session.get(CentreCompliance, ("5004", centre))
        assert before is not None
        assert before.status is ComplianceStatus.COMPLIANT  # not yet: recomputed after commit
    assert stored(engine, "5004", centre).unmet == ["premises_accessible"]  # type: ignore[union-attr]


def test_a_bulk_update_publishes_and_is_recomputed_once(
    engine: Engine, tenants: Callable[..., list[MunicipalityCode]]
) -> None:
    tenants("5004")
    centre = compliant_centre(engine, "5004")
    second = add_centre(engine, "5004", name="Δεύτερο Κέντρο")
    with delivered() as sent, tenant_session(engine, parse_municipality_code("5004")) as session:
        changed = session.scalars(
            update(Unit).values(premises_toilets_public_and_staff=False).returning(Unit.id)
        ).all()
        for unit_id in changed:
            publish(session, UnitChanged(unit_id))
    assert len(changed) == 2
    assert len(sent) == 1  # two events of one tenant in one transaction: one recompute
    assert stored(engine, "5004", centre).unmet == ["premises_toilets_public_and_staff"]  # type: ignore[union-attr]
    assert "premises_toilets_public_and_staff" in stored(engine, "5004", second).unmet  # type: ignore[union-attr]


def test_a_head_must_be_a_current_social_worker_of_the_centre_itself(
    engine: Engine, tenants: Callable[..., list[MunicipalityCode]]
) -> None:
    tenants("5004")
    centre = add_centre(engine, "5004")
    add_regulation(engine, "5004", centre)
    annex = add_unit(engine, "5004", centre, UnitKind.ANNEX, "parartima-1")
    wrong = add_staff(engine, "5004", centre, profile="psychologist", head=True)
    add_staff(engine, "5004", annex, profile="social_worker", head=True)  # an annex's head
    add_staff(engine, "5004", centre, profile="social_worker")  # not the head
    row = stored(engine, "5004", centre)
    assert row is not None
    assert row.unmet == [HEAD_MISSING]
    assert row.staff_count == 3  # the annex's staff count for the centre
    change(engine, "5004", StaffMember, wrong, end_date=today() - timedelta(days=1))
    future = add_staff(
        engine,
        "5004",
        centre,
        profile="social_worker",
        head=True,
        start=today() + timedelta(days=1),
    )
    assert stored(engine, "5004", centre).unmet == [HEAD_MISSING]  # type: ignore[union-attr]
    change(engine, "5004", StaffMember, future, start_date=today())
    assert stored(engine, "5004", centre).status is ComplianceStatus.COMPLIANT  # type: ignore[union-attr]


def test_only_a_submitted_or_acknowledged_regulation_in_force_counts(
    engine: Engine, tenants: Callable[..., list[MunicipalityCode]]
) -> None:
    tenants("5004")
    centre = add_centre(engine, "5004")
    add_staff(engine, "5004", centre, profile="social_worker", head=True)
    add_staff(engine, "5004", centre)
    for status in (RegulationStatus.DRAFT, RegulationStatus.APPROVED, RegulationStatus.RETURNED):
        add_regulation(engine, "5004", centre, status=status)
    future = add_regulation(engine, "5004", centre, effective=today() + timedelta(days=10))
    assert stored(engine, "5004", centre).unmet == [REGULATION_MISSING]  # type: ignore[union-attr]
    change(engine, "5004", RegulationVersion, future, effective_date=today())
    assert stored(engine, "5004", centre).status is ComplianceStatus.COMPLIANT  # type: ignore[union-attr]


def test_staff_of_annexes_and_mobile_units_count_closed_units_do_not(
    engine: Engine, tenants: Callable[..., list[MunicipalityCode]]
) -> None:
    tenants("5005")  # 48,157 residents: 3 staff
    centre = add_centre(engine, "5005")
    add_regulation(engine, "5005", centre)
    add_staff(engine, "5005", centre, profile="social_worker", head=True)
    annex = add_unit(engine, "5005", centre, UnitKind.ANNEX, "parartima-1")
    mobile = add_unit(engine, "5005", centre, UnitKind.MOBILE_UNIT, "kinhth-1")
    add_staff(engine, "5005", annex)
    assert stored(engine, "5005", centre).unmet == [STAFF_BELOW_MINIMUM]  # type: ignore[union-attr]
    add_staff(engine, "5005", mobile)
    row = stored(engine, "5005", centre)
    assert row is not None
    assert (row.status, row.staff_count, row.required_staff) == (
        ComplianceStatus.COMPLIANT,
        3,
        3,
    )
    add_staff(engine, "5005", centre, end=today() - timedelta(days=1))  # left yesterday
    assert stored(engine, "5005", centre).staff_count == 3  # type: ignore[union-attr]
    change(engine, "5005", Unit, mobile, closed_on=today())
    assert stored(engine, "5005", centre).unmet == [STAFF_BELOW_MINIMUM]  # type: ignore[union-attr]


def test_closing_a_centre_removes_its_row(
    engine: Engine, tenants: Callable[..., list[MunicipalityCode]]
) -> None:
    tenants("5004")
    kept = compliant_centre(engine, "5004")
    closed = add_centre(engine, "5004", name="Δεύτερο Κέντρο")
    assert stored(engine, "5004", closed) is not None
    change(engine, "5004", Unit, closed, closed_on=today())
    assert stored(engine, "5004", closed) is None
    assert stored(engine, "5004", kept) is not None


@pytest.mark.parametrize(
    ("code", "population", "required"),
    [("5004", 38_033, 2), ("5005", 48_157, 3), ("5104", 103_488, 4), ("5401", 8_843, 0)],
)
def test_the_staffing_band_through_compliance(
    engine: Engine,
    tenants: Callable[..., list[MunicipalityCode]],
    code: str,
    population: int,
    required: int,
) -> None:
    tenants(code)
    centre = compliant_centre(engine, code, staff=max(required, 1))
    row = stored(engine, code, centre)
    assert row is not None
    assert row.required_staff == required
    if required:
        assert row.status is ComplianceStatus.COMPLIANT
        change_staff_to = required - 1
        with written(engine, code) as session:
            extra = session.scalars(
                select(StaffMember).where(StaffMember.is_head.is_(False)).limit(1)
            ).first()
            if extra is not None:
                extra.end_date = today() - timedelta(days=1)
                publish(session, StaffChanged(extra.id))
        row = stored(engine, code, centre)
        assert row is not None
        assert row.staff_count == change_staff_to
        assert row.unmet == [STAFF_BELOW_MINIMUM]
    else:  # under 10,000 residents: no centre of its own
        assert row.unmet == ["municipality_below_threshold"]


# --- the municipality's API and page ------------------------------------------------------------


def test_the_municipality_sees_its_centres_with_texts_and_advice(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    tenants: Callable[..., list[MunicipalityCode]],
) -> None:
    tenants("5004", "5005")
    centre = add_centre(engine, "5004", premises=False)
    closed = add_centre(engine, "5004", name="Κλειστό")
    change(engine, "5004", Unit, closed, closed_on=today())
    for role in (Role.MUNICIPALITY_ADMIN, Role.CENTRE_HEAD, Role.STAFF):
        headers = tokens.headers(role, municipality="5004")
        response = client.get("/api/v1/municipalities/5004/compliance", headers=headers)
        assert response.status_code == 200, role
    body = response.get_json()
    assert body["municipality_code"] == "5004"
    assert body["population"] == 38_033
    [found] = body["centres"]
    assert found["centre_id"] == centre
    assert found["status"] == "non_compliant"
    assert [item["code"] for item in found["unmet"]][:2] == [STAFF_BELOW_MINIMUM, HEAD_MISSING]
    assert found["unmet"][1]["text_el"].startswith("Δεν υπάρχει Υπεύθυνος")
    assert found["unmet"][1]["text_en"].startswith("There is no head")
    assert [a["code"] for a in found["advisory"]] == list(ADVISORY_PREMISES)
    # Another municipality's users and the ministry.
    other = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality="5005")
    assert client.get("/api/v1/municipalities/5004/compliance", headers=other).status_code == 404
    ministry = tokens.headers(Role.MINISTRY_OFFICER)
    assert client.get("/api/v1/municipalities/5004/compliance", headers=ministry).status_code == 200
    regional = tokens.headers(Role.REGIONAL_OFFICER, region="EL41")
    assert client.get("/api/v1/municipalities/5004/compliance", headers=regional).status_code == 404

    page = client.get(
        "/municipalities/5004/compliance",
        headers=tokens.headers(Role.MUNICIPALITY_ADMIN, municipality="5004"),
    )
    assert page.status_code == 200
    shown = text(page)
    assert "Δεν συμμορφώνεται" in shown
    assert "Δεν είναι όλοι οι χώροι προσβάσιμοι σε άτομα με αναπηρία." in shown
    assert 'href="/municipalities/5004/staff"' in page.get_data(as_text=True)
    assert 'href="/municipalities/5004/regulations"' in page.get_data(as_text=True)
    assert "Συνιστάται, όπου είναι δυνατό" in shown
    assert "Κλειστό" not in shown
    assert client.get("/municipalities/5004/compliance", headers=other).status_code == 404


def test_every_unmet_item_is_explained_on_the_page_in_the_same_words() -> None:
    assert set(ITEM_PAGES) == set(ITEMS)
    for code, item in ITEMS.items():
        assert str(ITEM_PAGES[code][0]._args[0]) == item.text_el  # type: ignore[attr-defined]


# --- the overview --------------------------------------------------------------------------------


@pytest.fixture
def country(engine: Engine, tenants: Callable[..., list[MunicipalityCode]]) -> dict[str, int]:
    """Centres in Attica (5001 compliant, 5004 and 5005 not) and North Aegean (5601 compliant).
    5001 and 5005 have a Social Service; 5004 has none (supervised by 5001, its unit's seat)."""
    tenants("5001", "5004", "5005", "5601")
    set_social_service(engine, {"5001": True, "5004": False, "5005": True, "5601": True})
    return {
        "5001": compliant_centre(engine, "5001"),
        "5004": add_centre(engine, "5004"),
        "5005": add_centre(engine, "5005"),
        "5601": compliant_centre(engine, "5601"),
    }


def overview(client: FlaskClient, headers: dict[str, str], query: str = "") -> Any:
    """The overview's first page of 200 centres (every centre here)."""
    query = f"{query}&per_page=200" if query else "?per_page=200"
    response = client.get(f"/api/v1/compliance{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def mine(body: Any) -> list[str]:
    """The scratch municipalities in an overview (the session tenants may have rows too)."""
    return sorted(
        c["municipality_code"] for c in body["centres"] if c["municipality_code"] in SCRATCH
    )


def test_the_ministry_sees_the_country_and_filters_it(
    client: FlaskClient, tokens: TokenFactory, country: dict[str, int]
) -> None:
    ministry = tokens.headers(Role.MINISTRY_OFFICER)
    body = overview(client, ministry)
    assert mine(body) == ["5001", "5004", "5005", "5601"]
    assert body["counts"]["total"] == len(body["centres"])
    assert body["counts"]["compliant"] + body["counts"]["non_compliant"] == body["counts"]["total"]
    row = next(c for c in body["centres"] if c["municipality_code"] == "5601")
    assert (row["region_code"], row["status"]) == ("EL41", "compliant")
    assert row["municipality_name"]
    north = overview(client, ministry, "?region=EL41")
    assert mine(north) == ["5601"]
    assert {c["region_code"] for c in north["centres"]} == {"EL41"}
    failing = overview(client, ministry, "?region=EL30&status=non_compliant")
    assert mine(failing) == ["5004", "5005"]
    # The counts cover the region, not the status filter.
    assert failing["counts"]["compliant"] >= 1
    assert client.get("/api/v1/compliance?region=Attica", headers=ministry).status_code == 422
    assert client.get("/api/v1/compliance?status=good", headers=ministry).status_code == 422
    assert client.get("/api/v1/compliance?page=2", headers=ministry).status_code == 422


def test_the_overview_pages_hold_each_centre_once_in_its_order(
    client: FlaskClient, tokens: TokenFactory, country: dict[str, int]
) -> None:
    ministry = tokens.headers(Role.MINISTRY_OFFICER)
    whole = overview(client, ministry, "?order=municipality&descending=true")
    pages = walk(
        client, "/api/v1/compliance?order=municipality&descending=true&per_page=1", ministry
    )
    assert len(pages) == len(whole["centres"]) >= 4
    assert [c for page in pages for c in page.get_json()["centres"]] == whole["centres"]
    assert all(page.get_json()["counts"] == whole["counts"] for page in pages)  # every page
    assert "order=municipality" in links(pages[0])["next"]
    back = client.get(links(pages[2])["prev"], headers=ministry)
    assert back.get_json() == pages[1].get_json()
    cursor = parse_qs(urlsplit(links(pages[0])["next"]).query)["cursor"][0]
    for query in ("cursor=Zm9vCmJhcg", f"order=region&cursor={cursor}"):  # mangled, other order
        refused = client.get(f"/api/v1/compliance?{query}", headers=ministry)
        assert (refused.status_code, refused.get_json()["code"]) == (422, "core.bad_cursor")


def test_a_regional_officer_sees_only_their_region_even_when_asking_for_another(
    client: FlaskClient, tokens: TokenFactory, country: dict[str, int]
) -> None:
    attica = tokens.headers(Role.REGIONAL_OFFICER, region="EL30")
    assert mine(overview(client, attica)) == ["5001", "5004", "5005"]
    assert {c["region_code"] for c in overview(client, attica)["centres"]} == {"EL30"}
    other = overview(client, attica, "?region=EL41")  # filtered, not widened (documented)
    assert other["centres"] == []
    assert other["counts"] == {"compliant": 0, "non_compliant": 0, "total": 0}
    north = tokens.headers(Role.REGIONAL_OFFICER, region="EL41")
    assert mine(overview(client, north)) == ["5601"]


def test_a_supervisor_sees_the_municipalities_they_supervise(
    client: FlaskClient, tokens: TokenFactory, country: dict[str, int]
) -> None:
    for role in (Role.SUPERVISOR_OPERATIONAL, Role.SUPERVISOR_ADMINISTRATIVE):
        seat = overview(client, tokens.headers(role, municipality="5001"))
        assert [c["municipality_code"] for c in seat["centres"]] == ["5001", "5004"]
        own = overview(client, tokens.headers(role, municipality="5005"))
        assert [c["municipality_code"] for c in own["centres"]] == ["5005"]
        assert own["counts"] == {"compliant": 0, "non_compliant": 1, "total": 1}
        none = overview(client, tokens.headers(role, municipality="5004"))
        assert none["centres"] == []


@pytest.mark.parametrize(
    "role",
    [Role.PLATFORM_OPERATOR, Role.MUNICIPALITY_ADMIN, Role.CENTRE_HEAD, Role.STAFF],
)
def test_roles_without_the_overview_are_refused(
    client: FlaskClient, tokens: TokenFactory, role: Role
) -> None:
    headers = tokens.headers(role, municipality="4501")
    assert client.get("/api/v1/compliance", headers=headers).status_code == 403
    assert client.get("/compliance", headers=headers).status_code == 403
    assert client.get("/api/v1/compliance").status_code == 401


def test_the_overview_page_has_counts_filters_and_links(
    client: FlaskClient, tokens: TokenFactory, country: dict[str, int]
) -> None:
    ministry = tokens.headers(Role.MINISTRY_OFFICER)
    response = client.get("/compliance?region=EL41", headers=ministry)
    assert response.status_code == 200
    raw = response.get_data(as_text=True)
    assert '<label for="region">' in raw
    assert '<option value="EL41" selected>' in raw
    assert 'href="/municipalities/5601/compliance"' in raw
    assert 'href="/municipalities/5004/compliance"' not in raw
    assert "Συμμορφώνεται" in text(response)
    attica = tokens.headers(Role.REGIONAL_OFFICER, region="EL30")
    page = client.get("/compliance", headers=attica).get_data(as_text=True)
    assert 'href="/municipalities/5004/compliance"' in page
    assert 'value="EL41"' not in page  # only the officer's own region to filter by
    bad = client.get("/compliance?status=good", headers=ministry)
    assert bad.status_code == 422
    assert "Το φίλτρο δεν είναι έγκυρο" in text(bad)
