"""Policy as data: the staffing bands of the programme, at their boundaries, and their checks."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, inspect, select
from sqlalchemy.orm import Session

from kentra.platform.policy.models import PolicyVersion
from kentra.platform.policy.operations import (
    INITIAL_BANDS,
    check_bands,
    ensure_initial_policy,
    policy_in_force,
    staffing_requirement,
    stored_policy_in_force,
)
from tests.factories import PolicyVersionFactory


@pytest.fixture
def policy(db: Session) -> PolicyVersion:
    found = policy_in_force(db)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("population", "minimum_staff", "own_centre"),
    [
        (9_999, 0, False),
        (10_000, 2, True),
        (40_000, 2, True),
        (40_001, 3, True),
        (100_000, 3, True),
        (100_001, 4, True),
        (0, 0, False),
    ],
)
def test_staffing_at_the_band_boundaries(
    policy: PolicyVersion, population: int, minimum_staff: int, own_centre: bool
) -> None:
    requirement = staffing_requirement(policy, population)
    assert requirement.minimum_staff == minimum_staff
    assert requirement.own_centre_allowed is own_centre


@pytest.mark.parametrize(
    ("code", "population", "minimum_staff"),
    [("0714", 40_004, 3), ("0711", 100_194, 4), ("7403", 142, 0)],
)
def test_staffing_band_in_the_reference_api(
    client: FlaskClient, code: str, population: int, minimum_staff: int
) -> None:
    body = client.get(f"/api/v1/reference/municipalities/{code}").get_json()
    assert body["population"] == population
    assert body["staffing"]["minimum_staff"] == minimum_staff
    assert body["staffing"]["own_centre_allowed"] is (minimum_staff > 0)


def test_every_listed_municipality_carries_its_band(client: FlaskClient) -> None:
    listed = client.get("/api/v1/reference/municipalities").get_json()
    assert all(m["staffing"]["policy_version"] for m in listed)
    assert sum(1 for m in listed if not m["staffing"]["own_centre_allowed"]) == sum(
        1 for m in listed if m["population"] < 10_000
    )


def test_the_initial_policy_is_seeded_once(engine: Engine) -> None:
    with Session(engine) as session:
        assert ensure_initial_policy(session) is None  # already there from the upgrade
        assert session.scalar(select(func.count()).select_from(PolicyVersion)) >= 1
        version = policy_in_force(session)
        assert version is not None
        assert version.head_profile_code == "social_worker"
        assert [
            (b.min_population, b.max_population, b.minimum_staff) for b in version.bands
        ] == list(INITIAL_BANDS)
        assert {p.code for p in version.profiles if p.mandatory} == {"social_worker"}
        assert len(version.profiles) == 7
        assert policy_in_force(session, on=date(2000, 1, 1)) is None  # before any version


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([], "start at population 0"),
        ([(1, None, 2)], "start at population 0"),
        ([(0, 9_999, 0), (10_001, None, 2)], "without gap or overlap"),
        ([(0, 9_999, 0), (9_000, None, 2)], "without gap or overlap"),
        ([(0, None, 0), (10_000, None, 2)], "without gap or overlap"),
        ([(0, 9_999, 0)], "open-ended"),
    ],
)
def test_malformed_bands_are_refused(
    bands: list[tuple[int, int | None, int]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_bands(bands)


def test_a_policy_without_a_band_for_the_population_is_an_error(policy: PolicyVersion) -> None:
    truncated = PolicyVersion(
        id=99, bands=[b for b in policy.bands if b.max_population is not None]
    )
    with pytest.raises(ValueError, match="no band for population 200000"):
        staffing_requirement(truncated, 200_000)


def test_a_policy_version_is_read_once_then_served_detached(db: Session) -> None:
    """Versions are never edited: a recompute reads the one in force by key (one statement)
    and loads it, with its bands, once per process, detached from every session."""
    later = PolicyVersionFactory(session=db)  # in force from a day in 2100
    statements: list[str] = []
    listen = partial(event.listen, db.connection(), "before_cursor_execute")
    listen(lambda *args: statements.append(args[2]))  # and the loader's savepoint, here

    def selects() -> int:
        return sum(statement.startswith("SELECT") for statement in statements)

    first = stored_policy_in_force(db, later.valid_from)
    assert first is not None
    assert selects() == 4  # which version; then it, its bands and profiles
    assert first is not later
    assert inspect(first).detached
    assert inspect(later).persistent  # the caller's own object is left alone
    assert (first.id, first.head_profile_code) == (later.id, "social_worker")
    assert [band.minimum_staff for band in first.bands] == [0, 2, 3]

    statements.clear()
    assert stored_policy_in_force(db, later.valid_from + timedelta(days=1)) is first
    assert selects() == 1
    before = stored_policy_in_force(db, later.valid_from - timedelta(days=1))
    assert before is not None
    assert before.id != later.id
