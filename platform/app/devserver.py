"""``kentra run`` (``make run``): the whole platform on one machine, on embedded defaults.

Starts (or reuses) the database, migrates, seeds demo tenants, then runs a real Celery worker
and the web server (gunicorn) as child processes, prints what is running, and stops them on
Ctrl-C. Every child gets the resolved database and broker URLs, so they share one server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from types import FrameType

import click
from sqlalchemy import Engine

from kentra.platform.app import wiring
from kentra.platform.core.config import Settings, broker_url, database_url, result_backend
from kentra.platform.core.database import get_engine
from kentra.platform.units.models import PREMISES_ITEMS
from kentra.tasks import worker_command

DEMO_TENANTS = ("4501", "0101", "7101")
# The demo users' units (auth/issuer/demo.py): the same group paths in the tenants' unit trees.
DEMO_UNITS = (
    ("4501", "kk-athinon", None, "centre", "Κέντρο Κοινότητας Δήμου Αθηναίων"),
    (
        "4501",
        "kk-athinon",
        "parartima-1",
        "annex",
        "Κέντρο Κοινότητας Δήμου Αθηναίων — Παράρτημα 1",
    ),
    ("7101", "kk-irakleiou", None, "centre", "Κέντρο Κοινότητας Δήμου Ηρακλείου"),
)


def seed_demo(
    engine: Engine, settings: Settings | None = None, *, keycloak_users: bool = False
) -> Iterator[str]:
    """Demo tenants (with their identity organizations) and one demo user per role: on the
    embedded issuer always, in Keycloak only with ``keycloak_users`` (a development Keycloak:
    ``KENTRA_IDP=keycloak make run``). Idempotent."""
    from kentra.auth.adapters import identity_admin  # noqa: PLC0415

    wiring.install()
    from kentra.auth.principal import UnitPath  # noqa: PLC0415
    from kentra.tenants.provisioning import create_tenant  # noqa: PLC0415

    settings = settings or Settings.from_env()
    identity = identity_admin(settings, engine)
    for code in DEMO_TENANTS:
        result = create_tenant(engine, code, actor="demo-seed", identity=identity)
        verb = "created" if result.created else "exists "
        yield f"{verb} tenant {result.tenant.code} {result.tenant.name_el} ({result.tenant.schema})"
    from kentra.platform.units.models import UnitKind  # noqa: PLC0415
    from kentra.platform.units.operations import ensure_unit  # noqa: PLC0415
    from kentra.tenants.binding import tenant_session  # noqa: PLC0415
    from kentra.tenants.codes import parse_municipality_code  # noqa: PLC0415

    for code, centre, unit, kind, name in DEMO_UNITS:
        with tenant_session(engine, parse_municipality_code(code)) as session:
            ensure_unit(session, centre=centre, unit=unit, kind=UnitKind(kind), name=name)
            identity.ensure_unit_group(UnitPath(code, centre, unit), name)
    yield from seed_demo_content(engine)
    if not settings.uses_embedded_issuer and not keycloak_users:
        return
    from kentra.auth.issuer.demo import seed_demo_users  # noqa: PLC0415

    if settings.uses_embedded_issuer:
        yield "demo logins (embedded issuer; development only):"
        logins = seed_demo_users(engine, settings)
    else:
        yield f"demo logins (Keycloak {settings.issuer}; development only):"
        logins = seed_demo_users(engine, settings, identity)
    for login in logins:
        yield f"  {login.username:<32} {login.password:<32} {login.role:<26} {login.scope}"


# The Athens centre's details and roster, so that its pages and compliance show something:
# premises complete, three of the four staff its population needs, no regulation yet.
DEMO_CENTRE_DETAILS: dict[str, object] = {
    "street_address": "Λιοσίων 22",
    "postal_code": "10438",
    "opening_date": date(2017, 3, 1),
    "focus_groups": ["poverty", "migrants", "roma"],
    "body_type": "municipality",
    "body_legal_name": "Δήμος Αθηναίων",
    "body_vat": "090025537",
    **dict.fromkeys(PREMISES_ITEMS, True),
}
DEMO_STAFF = (
    ("Ελένη Παπαδοπούλου", "social_worker", True, None),
    ("Νίκος Γεωργίου", "psychologist", False, None),
    ("Μαρία Ιωάννου", "mediator", False, "parartima-1"),
)


def seed_demo_content(engine: Engine) -> Iterator[str]:
    """Details, roster and Social Service of the demo municipalities (fictitious people and
    e-mails under example.invalid). Idempotent: only an empty roster is filled."""
    from sqlalchemy import update  # noqa: PLC0415

    from kentra.auth.principal import SystemPrincipal  # noqa: PLC0415
    from kentra.platform.compliance.operations import recompute_tenant  # noqa: PLC0415
    from kentra.platform.staff.access import access_staff  # noqa: PLC0415
    from kentra.platform.staff.models import StaffMember  # noqa: PLC0415
    from kentra.platform.units.access import access_units  # noqa: PLC0415
    from kentra.tenants.binding import tenant_session  # noqa: PLC0415
    from kentra.tenants.codes import parse_municipality_code  # noqa: PLC0415
    from kentra.tenants.models import Tenant  # noqa: PLC0415

    with engine.begin() as conn:
        conn.execute(
            update(Tenant).where(Tenant.code.in_(DEMO_TENANTS)).values(has_social_service=True)
        )
    seed = SystemPrincipal(reason="demo seed")
    with tenant_session(engine, parse_municipality_code("4501")) as session:
        units = {u.unit: u for u in access_units(session, seed) if u.centre == "kk-athinon"}
        centre = units[None]
        if centre.street_address is None:
            for name, value in DEMO_CENTRE_DETAILS.items():
                setattr(centre, name, value)
        if not access_staff(session, seed, municipality_code="4501"):
            for number, (full_name, profile, head, unit) in enumerate(DEMO_STAFF, start=1):
                session.add(
                    StaffMember(
                        unit_id=units[unit].id,
                        full_name=full_name,
                        email=f"demo-staff-{number}@example.invalid",
                        profile_code=profile,
                        start_date=date(2024, 1, 8),
                        fte=Decimal("1.00"),
                        is_head=head,
                    )
                )
        # Written directly (not through the operations that publish): its summary too.
        recompute_tenant(session, "4501")
    yield "demo centre of 4501: details, premises and a roster of three (its band needs four)"
    yield from _seed_demo_people(engine)


# Fictitious people of the Athens centre and its annex, for the registry's pages: (unit, given
# name, family name, date of birth or year, nationality, interpreter needed).
DEMO_PEOPLE = (
    (None, "Γιώργος", "Παπαδόπουλος", date(1985, 3, 15), "GR", False),
    (None, "Ελένη", "Σταθοπούλου", date(1972, 11, 2), "GR", False),
    ("parartima-1", "Αχμέτ", "Χασάν", date(1990, 6, 21), "SY", True),
    ("parartima-1", "Μαρία", "Νικολάου", 1948, "GR", False),
)


def _seed_demo_people(engine: Engine) -> Iterator[str]:
    """The demo people, registered as a registrar would (ΑΜΚΑ from the date of birth, Latin
    names by ELOT 743), once: only an empty registry is filled."""
    from stdnum import luhn  # noqa: PLC0415

    from kentra.auth.principal import SystemPrincipal  # noqa: PLC0415
    from kentra.platform.beneficiaries.access import access_beneficiaries_page  # noqa: PLC0415
    from kentra.platform.beneficiaries.operations import register_beneficiary  # noqa: PLC0415
    from kentra.platform.units.access import access_units  # noqa: PLC0415
    from kentra.tenants.binding import tenant_session  # noqa: PLC0415
    from kentra.tenants.codes import parse_municipality_code  # noqa: PLC0415

    seed = SystemPrincipal(reason="demo seed")
    with tenant_session(engine, parse_municipality_code("4501")) as session:
        if access_beneficiaries_page(session, seed, municipality_code="4501").items:
            yield f"demo registry of 4501: {len(DEMO_PEOPLE)} people (fictitious)"
            return
        units = {u.unit: u for u in access_units(session, seed) if u.centre == "kk-athinon"}
        for number, (unit, given, family, born, nationality, interpreter) in enumerate(
            DEMO_PEOPLE, start=1
        ):
            person: dict[str, object] = {
                "unit_id": units[unit].id,
                "given_name": given,
                "family_name": family,
                "nationality": nationality,
                "interpreter_needed": interpreter,
                "residence_municipality_code": "4501",
            }
            if isinstance(born, date):
                body = born.strftime("%d%m%y") + f"{number:04d}"
                person |= {"born_on": born, "amka": body + luhn.calc_check_digit(body)}
            else:
                person["birth_year"] = born
            register_beneficiary(session, seed, "4501", person)
    yield f"demo registry of 4501: {len(DEMO_PEOPLE)} people (fictitious)"


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["KENTRA_DATABASE_URL"] = database_url(settings).render_as_string(hide_password=False)
    env["KENTRA_BROKER_URL"] = broker_url(settings)
    env["KENTRA_RESULT_BACKEND"] = result_backend(settings)
    env["KENTRA_BASE_URL"] = settings.base_url
    return env


def _wait_until_up(url: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own local URL
                return bool(response.status == 200)
        except OSError:
            time.sleep(0.3)
    return False


def run_platform(*, host: str, port: int, keycloak_users: bool = False) -> None:
    from kentra.tenants.migrate import upgrade_all  # noqa: PLC0415

    wiring.install()

    settings = Settings.from_env()
    if not os.environ.get("KENTRA_BASE_URL"):
        # The embedded issuer's URL (and the login redirect) follow the address we serve on.
        settings = replace(settings, base_url=f"http://{host}:{port}")
    db_url = database_url(settings)
    where = (
        "embedded PostgreSQL in " + str(settings.var_dir / "pg")
        if settings.uses_embedded_database
        else "configured PostgreSQL"
    )
    click.echo(f"database : {db_url.render_as_string(hide_password=True)} ({where})")
    engine = get_engine(settings)
    report = upgrade_all(engine, jobs=1)
    click.echo(
        f"migrations: shared at {report.shared_to}, {len(report.tenants)} tenant schema(s) checked"
    )
    for line in seed_demo(engine, settings, keycloak_users=keycloak_users):
        click.echo(f"demo     : {line}")

    env = _child_env(settings)
    broker_kind = (
        "configured broker"
        if settings.broker_url
        else "kombu SQLAlchemy transport on the same database"
    )
    children = [
        subprocess.Popen(  # noqa: S603 - fixed argv
            worker_command(
                "--beat",  # the one scheduler (daily compliance recompute), embedded here
                "--schedule",
                str(settings.var_dir / "celerybeat-schedule"),
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ),
            env=env,
        ),
        subprocess.Popen(  # noqa: S603 - fixed argv
            [
                sys.executable,
                "-m",
                "gunicorn",
                "kentra.platform.app.wsgi:app",
                "--bind",
                f"{host}:{port}",
                "--workers",
                "2",
                # Not infra/gunicorn.conf.py's one request per worker: the web login's code
                # exchange calls the embedded issuer, which this same server answers.
                "--threads",
                "4",
            ],
            env=env,
        ),
    ]
    worker, web = children

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    base = f"http://{host}:{port}"
    if not _wait_until_up(base + "/healthz"):
        _stop(signal.SIGTERM, None)
        raise click.ClickException("the web server did not start; see its output above")
    click.echo(
        "\n".join(
            [
                "",
                "Kentra is running:",
                f"  web + API  : {base}   (gunicorn pid {web.pid})",
                f"  reference  : {base}/api/v1/reference/municipalities?q=αθηνα",
                f"  log in     : {base}/auth/login   (a demo login above)",
                f"  a tenant   : {base}/api/v1/municipalities/{DEMO_TENANTS[0]}  (needs a token)",
                f"  a token    : curl -d grant_type=password -d client_id=kentra-cli -d username=staff-4501"
                f" -d password=demo-staff {settings.issuer}/protocol/openid-connect/token",
                f"  OpenAPI    : {base}/api/v1/openapi.json",
                f"  health     : {base}/healthz , {base}/readyz",
                f"  worker     : Celery pid {worker.pid}, broker: {broker_kind}",
                "Press Ctrl-C to stop.",
            ]
        )
    )
    exit_code = 0
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    _stop(signal.SIGTERM, None)
    for child in children:
        exit_code = exit_code or (child.wait(timeout=30) or 0)
    sys.exit(exit_code)
