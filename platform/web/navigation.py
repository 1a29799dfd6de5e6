"""What every page's layout needs: language, the signed-in principal, the navigation, the
footer.

The primary navigation lists the places the principal may open (``web.links.may_open``, the
routes' own requirements), each once; the sections of a municipality's space are in
``web/sections.html``, decided the same way.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request
from flask_babel import get_locale

from kentra.auth.flask import current_principal
from kentra.auth.permissions import Permission
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.web.i18n import LANGUAGES
from kentra.platform.web.links import may_open

# (permission, link, text): in the order shown.
PRIMARY: tuple[tuple[Permission, str, Any], ...] = (
    (
        Permission.PLATFORM_ONBOARDING_REVIEW,
        "/onboarding/requests",
        lazy_gettext("Αιτήσεις ένταξης"),
    ),
    (Permission.REGION_COMPLIANCE_READ, "/compliance", lazy_gettext("Εικόνα συμμόρφωσης")),
    (
        Permission.NATIONAL_REGULATIONS_MANAGE,
        "/ministry/regulations",
        lazy_gettext("Κανονισμοί λειτουργίας"),
    ),
    (Permission.NATIONAL_POLICY_MANAGE, "/ministry/policy", lazy_gettext("Πολιτική στελέχωσης")),
    (Permission.NATIONAL_SUPERVISION_MANAGE, "/ministry/supervision", lazy_gettext("Εποπτεία")),
    (
        Permission.NATIONAL_SERVICE_AREA_MANAGE,
        "/ministry/service-area",
        lazy_gettext("Περιοχή εξυπηρέτησης Κινητών Μονάδων"),
    ),
    (Permission.NATIONAL_JOBS_READ, "/ministry/jobs", lazy_gettext("Εργασίες")),
)


def primary_navigation() -> list[tuple[str, str]]:
    principal = current_principal()
    if principal is None:
        return []
    links = []
    if principal.organization:
        links.append(
            (f"/municipalities/{principal.organization}", str(lazy_gettext("Ο Δήμος μου")))
        )
    links += [(href, str(text)) for permission, href, text in PRIMARY]
    return [(href, text) for href, text in links if may_open(href)]


def _privacy_href() -> str:
    """The privacy notice, naming the municipality of the page being read, if it is one's."""
    code = (request.view_args or {}).get("municipality_code")
    return f"/privacy?municipality={code}" if code else "/privacy"


def _layout_context() -> dict[str, Any]:
    principal = current_principal()
    return {
        "current_language": str(get_locale() or "el"),
        "languages": LANGUAGES,
        "web_principal": principal,
        "primary_navigation": primary_navigation(),
        "privacy_href": _privacy_href(),
        "help_email": current_app.extensions["kentra"].settings.help_email,
    }


def may(permission: str) -> bool:
    """Whether the signed-in principal's roles hold ``permission`` (for showing links and
    buttons; the views check again). A Jinja global, so imported macros see it too."""
    principal = current_principal()
    return principal is not None and Permission(permission) in principal.permissions


def init_app(app: Flask) -> None:
    app.context_processor(_layout_context)
    app.jinja_env.globals["may"] = may
    app.jinja_env.globals["may_open"] = may_open
