"""Demo users: one per role, with fixed development passwords, in the embedded issuer or, for
``KENTRA_IDP=keycloak make run``, in the development Keycloak.

Never created in production. ``make run`` prints the returned logins.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Engine

from kentra.auth.identity import IdentityAdmin, UserSpec
from kentra.auth.issuer.admin import EmbeddedIdentityAdmin
from kentra.auth.principal import UnitPath
from kentra.auth.roles import Profession, Role
from kentra.platform.core.config import Settings

DEMO_EMAIL_DOMAIN = "demo.kentra.invalid"  # .invalid: reserved, never delivered


class DemoLogin(NamedTuple):
    username: str
    password: str
    role: Role
    scope: str  # what the user reaches, in words


def _password(role: Role) -> str:
    return f"demo-{role.value}"


ATHENS = "4501"
HERAKLION = "7101"
# The demo organizations' names, as in the reference data (platform/reference/data).
DEMO_ORGANIZATIONS = {ATHENS: "Δήμος Αθηναίων", HERAKLION: "Δήμος Ηρακλείου"}
ATHENS_CENTRE = UnitPath(ATHENS, "kk-athinon")
ATHENS_ANNEX = UnitPath(ATHENS, "kk-athinon", "parartima-1")
HERAKLION_CENTRE = UnitPath(HERAKLION, "kk-irakleiou")

UNIT_NAMES = {
    ATHENS_CENTRE: "Κέντρο Κοινότητας Δήμου Αθηναίων",
    ATHENS_ANNEX: "Κέντρο Κοινότητας Δήμου Αθηναίων — Παράρτημα 1",
    HERAKLION_CENTRE: "Κέντρο Κοινότητας Δήμου Ηρακλείου",
}


def _user(
    username: str,
    role: Role,
    scope: str,
    *,
    municipality_code: str | None = None,
    unit: UnitPath | None = None,
    region: str | None = None,
    profession: Profession | None = None,
) -> tuple[UserSpec, DemoLogin]:
    password = _password(role)
    spec = UserSpec(
        username=username,
        email=f"{username}@{DEMO_EMAIL_DOMAIN}",
        role=role,
        municipality_code=municipality_code,
        unit=unit,
        region=region,
        profession=profession,
        # Keycloak's user profile requires both names: without them it refuses the password
        # grant ("Account is not fully set up") and asks for them at a browser login.
        first_name="Demo",
        last_name=username.replace("-", " ").title(),
        password=password,
    )
    return spec, DemoLogin(username, password, role, scope)


DEMO_USERS: tuple[tuple[UserSpec, DemoLogin], ...] = (
    _user("platform-operator", Role.PLATFORM_OPERATOR, "όλη η πλατφόρμα"),
    _user("ministry-officer", Role.MINISTRY_OFFICER, "όλη η χώρα"),
    _user(
        "regional-officer-el30", Role.REGIONAL_OFFICER, "Περιφέρεια Αττικής (EL30)", region="EL30"
    ),
    _user(
        "supervisor-operational-4501",
        Role.SUPERVISOR_OPERATIONAL,
        "Δήμος Αθηναίων (4501)",
        municipality_code=ATHENS,
    ),
    _user(
        "supervisor-administrative-4501",
        Role.SUPERVISOR_ADMINISTRATIVE,
        "Δήμος Αθηναίων (4501)",
        municipality_code=ATHENS,
    ),
    _user(
        "municipality-admin-4501",
        Role.MUNICIPALITY_ADMIN,
        "Δήμος Αθηναίων (4501)",
        municipality_code=ATHENS,
    ),
    _user(
        "centre-head-4501",
        Role.CENTRE_HEAD,
        f"Δήμος Αθηναίων, κέντρο {ATHENS_CENTRE}",
        unit=ATHENS_CENTRE,
    ),
    _user(
        "staff-4501",
        Role.STAFF,
        f"Δήμος Αθηναίων, μονάδα {ATHENS_ANNEX}, κοινωνική λειτουργός",
        unit=ATHENS_ANNEX,
        profession=Profession.SOCIAL_WORKER,
    ),
    _user(
        "staff-7101",
        Role.STAFF,
        f"Δήμος Ηρακλείου, κέντρο {HERAKLION_CENTRE}, ψυχολόγος (άλλος δήμος: απομόνωση)",
        unit=HERAKLION_CENTRE,
        profession=Profession.PSYCHOLOGIST,
    ),
)


def seed_demo_users(
    engine: Engine, settings: Settings, identity: IdentityAdmin | None = None
) -> list[DemoLogin]:
    """Create (idempotently) the organizations 4501 and 7101, their unit groups and one demo
    user per role; return the logins. Refused in production.

    Without ``identity``, in the embedded issuer's tables, in one transaction; with one (a
    development Keycloak's ``KeycloakIdentityAdmin``, ``KENTRA_IDP=keycloak make run``), through
    it: the same users, passwords and scopes either way."""
    if settings.env == "production":
        raise RuntimeError("demo users are for development and tests only")
    if identity is not None:
        _seed(identity)
    else:
        with engine.begin() as conn:
            _seed(EmbeddedIdentityAdmin(conn))
    return [login for _spec, login in DEMO_USERS]


def _seed(admin: IdentityAdmin) -> None:
    for code, name in DEMO_ORGANIZATIONS.items():
        admin.ensure_organization(code, name)
    for unit, name in UNIT_NAMES.items():
        admin.ensure_unit_group(unit, name)
    for spec, _login in DEMO_USERS:
        admin.ensure_user(spec)
