"""Compliance web pages (server-rendered, Greek):

- ``/municipalities/<code>/compliance``: each open centre's status, the unmet items explained
  with what to do and a link to the page where it is done, and the premises recommendations;
- ``/compliance``: the overview across the municipalities within the user's reach, with a
  region and a status filter, the counts by status, sortable columns and pages of
  :data:`PER_PAGE` centres (keyset paging);
- ``/compliance.csv``: the same selection, in the same order, every row, as CSV.
"""

from __future__ import annotations

import csv
import io
from functools import partial
from typing import Any
from urllib.parse import urlencode

import marshmallow as ma
from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from kentra.auth.flask import current_reader, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.compliance.access import (
    OVERVIEW_ORDERS,
    Overview,
    access_municipality_compliance,
    access_overview,
    access_population,
    access_regions,
)
from kentra.platform.compliance.models import ComplianceStatus
from kentra.platform.compliance.operations import (
    BELOW_THRESHOLD,
    HEAD_MISSING,
    REGULATION_MISSING,
    STAFF_BELOW_MINIMUM,
)
from kentra.platform.compliance.schemas import ComplianceOverviewQueryArgsSchema
from kentra.platform.core.database import request_session
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.policy.api import access_policy_in_force
from kentra.platform.reference.api import access_municipality_by_code
from kentra.platform.units.api import access_open_centre
from kentra.tenants.codes import MunicipalityCode

blueprint = Blueprint("compliance_pages", __name__, template_folder="templates")

# What each unmet item means on the page, what to do, and where: (text, what to do, section).
PREMISES_ACTION = lazy_gettext(
    "Ενημερώστε τον έλεγχο χώρων στα στοιχεία του Κέντρου, όταν ο χώρος το καλύπτει."
)
ITEM_PAGES: dict[str, tuple[Any, Any, str]] = {
    BELOW_THRESHOLD: (
        lazy_gettext(
            "Ο Δήμος έχει λιγότερους κατοίκους από το όριο για δικό του Κέντρο Κοινότητας."
        ),
        lazy_gettext(
            "Ο Δήμος μπορεί να εξυπηρετείται από Κινητή Μονάδα γειτονικού Κέντρου· "
            "επικοινωνήστε με το Υπουργείο."
        ),
        "units",
    ),
    STAFF_BELOW_MINIMUM: (
        lazy_gettext("Το προσωπικό είναι λιγότερο από το ελάχιστο για τον πληθυσμό του Δήμου."),
        lazy_gettext(
            "Προσθέστε στο προσωπικό τα στελέχη που λείπουν (στο Κέντρο, τα Παραρτήματα ή "
            "τις Κινητές Μονάδες του)."
        ),
        "staff",
    ),
    HEAD_MISSING: (
        lazy_gettext("Δεν υπάρχει Υπεύθυνος Κέντρου με ειδικότητα Κοινωνικού Λειτουργού."),
        lazy_gettext(
            "Ορίστε ως Υπεύθυνο Κέντρου ένα μέλος του προσωπικού του Κέντρου με ειδικότητα "
            "Κοινωνικού Λειτουργού."
        ),
        "staff",
    ),
    "premises_distinct_space": (
        lazy_gettext("Το Κέντρο δεν στεγάζεται σε αυτοτελή χώρο."),
        PREMISES_ACTION,
        "units",
    ),
    "premises_near_social_services": (
        lazy_gettext("Το Κέντρο δεν βρίσκεται μέσα ή κοντά στις κοινωνικές υπηρεσίες."),
        PREMISES_ACTION,
        "units",
    ),
    "premises_near_social_structures": (
        lazy_gettext("Το Κέντρο δεν βρίσκεται κοντά σε άλλες κοινωνικές δομές."),
        PREMISES_ACTION,
        "units",
    ),
    "premises_reception_waiting_processing": (
        lazy_gettext("Λείπουν οι χώροι υποδοχής, αναμονής και διεκπεραίωσης."),
        PREMISES_ACTION,
        "units",
    ),
    "premises_toilets_public_and_staff": (
        lazy_gettext("Λείπουν χώροι υγιεινής για το κοινό και το προσωπικό."),
        PREMISES_ACTION,
        "units",
    ),
    "premises_accessible": (
        lazy_gettext("Δεν είναι όλοι οι χώροι προσβάσιμοι σε άτομα με αναπηρία."),
        lazy_gettext(
            "Η προσβασιμότητα όλων των χώρων σε άτομα με αναπηρία είναι υποχρεωτική. "
            "Όταν εξασφαλιστεί, ενημερώστε τον έλεγχο χώρων στα στοιχεία του Κέντρου."
        ),
        "units",
    ),
    REGULATION_MISSING: (
        lazy_gettext("Δεν υπάρχει σε ισχύ Κανονισμός Λειτουργίας υποβεβλημένος στο Υπουργείο."),
        lazy_gettext(
            "Ανεβάστε τον Κανονισμό Λειτουργίας, εγκρίνετέ τον (Υπεύθυνος Κέντρου) και "
            "υποβάλετέ τον στο Υπουργείο. Μετρά από την ημερομηνία έναρξης ισχύος του."
        ),
        "regulations",
    ),
}
ADVISORY_PAGES: dict[str, Any] = {
    "premises_municipality_owned": lazy_gettext(
        "Συνιστάται, όπου είναι δυνατό, στέγαση σε κενό δημοτικό ακίνητο."
    ),
}
SECTION_LINKS: dict[str, Any] = {
    "units": lazy_gettext("Κέντρο και μονάδες"),
    "staff": lazy_gettext("Προσωπικό"),
    "regulations": lazy_gettext("Κανονισμός λειτουργίας"),
}
STATUS_TEXT: dict[str, Any] = {
    ComplianceStatus.COMPLIANT.value: lazy_gettext("Συμμορφώνεται"),
    ComplianceStatus.NON_COMPLIANT.value: lazy_gettext("Δεν συμμορφώνεται"),
}
UNKNOWN_ITEM = lazy_gettext("Απαίτηση που δεν περιγράφεται πλέον")


def item_page(code: str) -> tuple[Any, Any, str | None]:
    return ITEM_PAGES.get(code, (UNKNOWN_ITEM, "", None))


@blueprint.get("/municipalities/<municipality_code>/compliance")
@requires(Permission.TENANT_COMPLIANCE_READ)
def municipality_page(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    """The compliance of the municipality's centres, explained. A centre whose summary the
    worker has not written yet (just registered: ADR 0035) is said to be in computation, and
    the page reloads itself until it is there."""
    session = request_session()
    reader = signed_in_principal()
    centres = access_municipality_compliance(session, reader, municipality_code.value)
    computing = not centres and access_open_centre(session, reader) is not None
    page = render_template(
        "compliance/municipality.html",
        code=municipality_code.value,
        municipality=access_municipality_by_code(session, reader, municipality_code.value),
        population=access_population(session, reader, municipality_code.value),
        centres=centres,
        computing=computing,
        policy=access_policy_in_force(session, current_reader()),
        item_page=item_page,
        advisory_pages=ADVISORY_PAGES,
        section_links=SECTION_LINKS,
        status_text=STATUS_TEXT,
    )
    return page, 200, {"Refresh": str(COMPUTING_REFRESH_SECONDS)} if computing else {}


COMPUTING_REFRESH_SECONDS = 3
PER_PAGE = 50
# The overview's sortable columns, in the table's order: (order key, heading).
COLUMNS: tuple[tuple[str, Any], ...] = (
    ("region", lazy_gettext("Περιφέρεια")),
    ("municipality", lazy_gettext("Δήμος")),
    ("centre", lazy_gettext("Κέντρο")),
    ("status", lazy_gettext("Κατάσταση")),
    ("staff", lazy_gettext("Προσωπικό / ελάχιστο")),
)
BAD_FILTER = lazy_gettext("Το φίλτρο δεν είναι έγκυρο· εμφανίζονται όλα.")


def _overview(*, paged: bool) -> tuple[Overview, dict[str, str], list[str]]:
    """The overview the query string asks for (filters, order, page): the overview, the
    query's values as the page shows them, and what was refused."""
    principal = signed_in_principal()
    values = {name: request.args.get(name, "") for name in ("region", "status", "order", "dir")}
    if values["order"] not in OVERVIEW_ORDERS:
        values["order"] = "region"
    values["dir"] = "desc" if values["dir"] == "desc" else "asc"
    errors: list[str] = []
    try:
        args = ComplianceOverviewQueryArgsSchema().load(
            {name: values[name] for name in ("region", "status") if values[name]}
        )
    except ma.ValidationError:
        args = {}
        errors.append(str(BAD_FILTER))
    read = partial(
        access_overview,
        request_session(),
        principal,
        region=args.get("region"),
        status=args.get("status"),
        order=values["order"],
        descending=values["dir"] == "desc",
        per_page=PER_PAGE if paged else None,
    )
    try:
        overview = read(cursor=request.args.get("cursor") or None)
    except DomainError as refusal:  # a cursor of another list, or mangled: the first page
        errors.append(refusal.detail)
        overview = read()
    return overview, values, errors


def _query(values: dict[str, str], **changes: str | None) -> str:
    """The query string of the overview with ``changes`` (None removes a parameter)."""
    merged = {**values, **changes}
    return urlencode({name: value for name, value in merged.items() if value})


@blueprint.get("/compliance")
@requires(Permission.REGION_COMPLIANCE_READ)
def overview_page() -> ResponseReturnValue:
    """The overview across municipalities: filtered, sorted, paged."""
    overview, values, errors = _overview(paged=True)
    session = request_session()
    return (
        render_template(
            "compliance/overview.html",
            overview=overview,
            regions=access_regions(session, signed_in_principal()),
            values=values,
            errors=errors,
            columns=COLUMNS,
            query=lambda **changes: _query(values, **changes),
            status_text=STATUS_TEXT,
            item_page=item_page,
        ),
        422 if errors else 200,
    )


@blueprint.get("/compliance.csv")
@requires(Permission.REGION_COMPLIANCE_READ)
def overview_csv() -> ResponseReturnValue:
    """The overview's selection, every row, in the page's order, as CSV (UTF-8 with a byte
    order mark, so that spreadsheets read the Greek)."""
    overview, _values, _errors = _overview(paged=False)
    headings = [str(text) for _key, text in COLUMNS[:4]]
    headings += [gettext("Προσωπικό"), gettext("Ελάχιστο προσωπικό"), gettext("Τι λείπει")]

    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(headings)
    for row in overview.centres:
        writer.writerow(
            [
                row.region_name,
                row.municipality_name,
                row.centre_name,
                STATUS_TEXT[row.status.value],
                row.staff_count,
                row.required_staff,
                "; ".join(str(item_page(code)[0]) for code in row.unmet),
            ]
        )
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="compliance.csv"'},
    )
