"""`make run`'s demo data (kentra.platform.app.devserver.seed_demo), in a database of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from kentra.auth.issuer.demo import DEMO_ORGANIZATIONS
from kentra.platform.app.devserver import DEMO_PEOPLE, DEMO_STAFF, DEMO_TENANTS, seed_demo
from kentra.platform.beneficiaries.models import Beneficiary
from kentra.platform.core.config import Settings
from kentra.platform.core.database import make_engine, recreate_database, sibling_database_url
from kentra.platform.reference.models import Municipality
from kentra.platform.staff.models import StaffMember
from kentra.platform.units.models import PREMISES_ITEMS, Unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.migrate import upgrade_all
from kentra.tenants.models import Tenant, TenantStatus
from tests.conftest import TEST_DATABASE


@pytest.fixture(scope="module")
def demo_engine() -> Iterator[Engine]:
    url = sibling_database_url(Settings.from_env(), f"{TEST_DATABASE}_demo")
    recreate_database(url)
    engine = make_engine(url, pool_size=2, max_overflow=0)
    assert not upgrade_all(engine).failed
    yield engine
    engine.dispose()


def test_demo_data_is_seeded_once_with_a_centre_roster_and_supervision(
    demo_engine: Engine, settings: Settings
) -> None:
    first = list(seed_demo(demo_engine, settings))
    again = list(seed_demo(demo_engine, settings))
    assert any("roster" in line for line in first)
    assert len(again) == len(first)
    with demo_engine.connect() as conn:
        tenants = conn.execute(select(Tenant.code, Tenant.status, Tenant.has_social_service)).all()
    assert sorted(tenants) == sorted((c, TenantStatus.ACTIVE, True) for c in DEMO_TENANTS)
    with tenant_session(demo_engine, parse_municipality_code("4501")) as session:
        centre = session.scalars(
            select(Unit).where(Unit.centre == "kk-athinon", Unit.unit.is_(None))
        ).one()
        assert centre.postal_code == "10438"
        assert all(getattr(centre, item) for item in PREMISES_ITEMS)
        assert session.scalar(select(func.count()).select_from(StaffMember)) == len(DEMO_STAFF)
        heads = session.scalars(select(StaffMember).where(StaffMember.is_head)).all()
        assert [h.unit_id for h in heads] == [centre.id]
        # The registry's people, registered as a registrar would: once, with ELOT 743 names.
        people = session.scalars(select(Beneficiary).order_by(Beneficiary.id)).all()
        assert len(people) == len(DEMO_PEOPLE)
        assert (people[2].given_name_latin, people[2].family_name_latin) == ("Achmet", "Chasan")
        assert all(p.amka for p in people if p.born_on)


def test_the_demo_organizations_are_named_as_in_the_reference_data(engine: Engine) -> None:
    """The embedded issuer's demo organizations carry fixed names (auth does not read the
    reference data, a layer above it): they must be the reference data's names."""
    with engine.connect() as conn:
        names = dict(
            conn.execute(
                select(Municipality.code, Municipality.name_el).where(
                    Municipality.code.in_(DEMO_ORGANIZATIONS)
                )
            ).all()
        )
    assert names == DEMO_ORGANIZATIONS
