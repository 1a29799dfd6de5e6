"""The home page and the footer's pages (public; the home page changes with who is signed in).

- ``GET /``: the visitor's roles in words, their municipality by name, and the places they
  may open with what each is for; the login and the municipalities' signup otherwise.
- ``GET /privacy``: the privacy notice (GDPR Art. 13); ``?municipality=<code>`` (or the
  signed-in person's own municipality) names that municipality as the controller.
- ``GET /accessibility``: the accessibility statement.
- ``GET /help``: who to ask, and the help desk's address when one is configured.
- ``GET /municipalities/<code>``: a municipality's own home page, its overview: its name, its
  sections, its supervision and a summary of its centre. It composes the modules below (the
  profile, units, supervision), so it sits here at the top of the module order (ADR 0043).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request

from kentra.auth.flask import (
    current_principal,
    current_reader,
    public,
    requires,
    signed_in_principal,
)
from kentra.auth.permissions import Permission
from kentra.auth.principal import Principal
from kentra.auth.roles import Role
from kentra.platform.core.database import request_session
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.municipalities.api import access_profile
from kentra.platform.reference.api import Municipality, access_municipality_by_code
from kentra.platform.supervision.api import BASIS_TEXT, access_supervision
from kentra.platform.units.api import (
    UnitKind,
    access_open_centre,
    access_units_of_centre,
    own_centre_refusal,
)
from kentra.platform.web.links import may_open
from kentra.platform.web.navigation import primary_navigation
from kentra.tenants.codes import InvalidMunicipalityCode, MunicipalityCode, parse_municipality_code
from kentra.tenants.routing import NOT_FOUND_DETAIL

blueprint = Blueprint("home_pages", __name__, template_folder="templates")

ROLE_NAMES: dict[Role, Any] = {
    Role.PLATFORM_OPERATOR: _l("Διαχείριση της πλατφόρμας"),
    Role.MINISTRY_OFFICER: _l("Στέλεχος του Υπουργείου"),
    Role.REGIONAL_OFFICER: _l("Στέλεχος της Περιφέρειας"),
    Role.SUPERVISOR_OPERATIONAL: _l("Λειτουργική εποπτεία Κέντρων"),
    Role.SUPERVISOR_ADMINISTRATIVE: _l("Διοικητική εποπτεία Κέντρων"),
    Role.MUNICIPALITY_ADMIN: _l("Διαχείριση του Δήμου"),
    Role.CENTRE_HEAD: _l("Υπεύθυνος/η Κέντρου Κοινότητας"),
    Role.STAFF: _l("Στέλεχος Κέντρου Κοινότητας"),
}


@dataclass(frozen=True)
class Place:
    href: str
    title: Any
    purpose: Any = ""


def _municipality_places(code: str) -> list[Place]:
    base = f"/municipalities/{code}"
    return [
        Place(
            f"{base}/beneficiaries",
            _l("Ωφελούμενοι"),
            _l("Βρείτε και καταγράψτε τα πρόσωπα που εξυπηρετούν οι μονάδες σας."),
        ),
        Place(base, _l("Ο Δήμος σας"), _l("Το Κέντρο, οι μονάδες και η εποπτεία του Δήμου.")),
        Place(
            f"{base}/units",
            _l("Κέντρο και μονάδες"),
            _l("Καταχωρίστε ή ενημερώστε το Κέντρο, τα Παραρτήματα και τις Κινητές Μονάδες."),
        ),
        Place(
            f"{base}/staff",
            _l("Προσωπικό"),
            _l("Τα μέλη του προσωπικού, οι συμβάσεις τους και οι προσκλήσεις στην πλατφόρμα."),
        ),
        Place(
            f"{base}/compliance",
            _l("Συμμόρφωση"),
            _l("Τι καλύπτει κάθε Κέντρο (στελέχωση, χώροι, κανονισμός, έκθεση) και τι λείπει."),
        ),
        Place(
            f"{base}/regulations",
            _l("Κανονισμός λειτουργίας"),
            _l("Ανεβάστε, εγκρίνετε και υποβάλετε τον κανονισμό στο Υπουργείο."),
        ),
    ]


# What the places of the primary navigation are for, by their link.
PURPOSES: dict[str, Any] = {
    "/onboarding/requests": _l("Εγκρίνετε ή απορρίψτε τους Δήμους που ζητούν να ενταχθούν."),
    "/compliance": _l("Η συμμόρφωση των Κέντρων των Δήμων που σας αφορούν, με τα κενά τους."),
    "/ministry/regulations": _l(
        "Οι τρέχοντες κανονισμοί όλων των Κέντρων· καταχωρίστε την παραλαβή ή επιστρέψτε τους."
    ),
    "/ministry/policy": _l(
        "Οι ζώνες πληθυσμού και τα προφίλ· μια νέα έκδοση υπολογίζει ξανά τη συμμόρφωση."
    ),
    "/ministry/supervision": _l("Ορίστε την έδρα των Περιφερειακών Ενοτήτων όπου λείπει."),
    "/ministry/service-area": _l(
        "Επιτρέψτε σε Κινητές Μονάδες να εξυπηρετούν Δήμους εκτός της περιοχής τους."
    ),
}


def places_of(principal: Principal) -> list[Place]:
    """The places ``principal`` may open, their own municipality's first."""
    own = _municipality_places(principal.organization) if principal.organization else []
    listed = {place.href for place in own}
    others = [
        Place(href, text, PURPOSES.get(href, ""))
        for href, text in primary_navigation()
        if href not in listed
    ]
    return [place for place in own + others if may_open(place.href)]


def _municipality(code: str | None) -> Municipality | None:
    if not code:
        return None
    try:
        parsed = parse_municipality_code(code)
    except InvalidMunicipalityCode:
        return None
    return access_municipality_by_code(request_session(), current_reader(), parsed.value)


@blueprint.get("/")
@public
def home_page() -> str:
    """What the visitor does next."""
    principal = current_principal()
    if principal is None:
        return render_template("home/welcome.html", failed=request.args.get("login") == "failed")
    return render_template(
        "home/home.html",
        principal=principal,
        role_names=[ROLE_NAMES[role] for role in sorted(principal.roles)],
        municipality=_municipality(principal.organization),
        places=places_of(principal),
    )


@blueprint.get("/privacy")
@public
def privacy_page() -> str:
    """The privacy notice; the controller named when the municipality is known."""
    principal = current_principal()
    asked = request.args.get("municipality") or (principal.organization if principal else None)
    return render_template("home/privacy.html", municipality=_municipality(asked))


@blueprint.get("/accessibility")
@public
def accessibility_page() -> str:
    return render_template("home/accessibility.html")


@blueprint.get("/help")
@public
def help_page() -> str:
    return render_template(
        "home/help.html", help_email=current_app.extensions["kentra"].settings.help_email
    )


@blueprint.get("/municipalities/<municipality_code>")
@requires(Permission.TENANT_PROFILE_READ)
def municipality_page(municipality_code: MunicipalityCode) -> str:
    """The municipality's overview: its name, its sections and a summary of its centre."""
    session = request_session()
    profile = access_profile(session, signed_in_principal())
    if profile is None:
        abort(404, NOT_FOUND_DETAIL)
    centre = access_open_centre(session, signed_in_principal())
    units = (
        access_units_of_centre(session, signed_in_principal(), centre) if centre is not None else []
    )
    open_units = [u for u in units if u.is_open]
    refusal = own_centre_refusal(session, municipality_code.value) if centre is None else None
    return render_template(
        "home/municipality.html",
        profile=profile,
        code=municipality_code.value,
        centre=centre,
        annexes=sum(u.kind == UnitKind.ANNEX for u in open_units),
        mobile_units=sum(u.kind == UnitKind.MOBILE_UNIT for u in open_units),
        refusal=refusal,
        supervision=access_supervision(session, signed_in_principal(), municipality_code.value),
        basis_text=BASIS_TEXT,
    )
