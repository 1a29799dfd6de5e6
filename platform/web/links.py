"""Links shown only to those who may follow them.

A page decides each link the way the request it leads to will be decided: the path is matched
to its route, whose declared requirement (``@requires`` / ``@public``, the one permission
table of ``kentra.auth.permissions``) is checked against the signed-in principal, and for a
municipality's URL the principal must reach that municipality (``Principal.may_enter`` and
``allows``, as tenant routing checks). A link that would answer 403, or 404 for want of reach,
is not shown. ``tests/web/test_page_walk.py`` follows every link of every page as every role.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

from kentra.auth.flask import PUBLIC, current_principal, requirement_of
from kentra.auth.permissions import Permission
from kentra.tenants.routing import URL_PARAMETER, placement

_ADAPTER = "_kentra_link_adapter"
_PLACEMENTS = "_kentra_link_placements"


def _adapter() -> MapAdapter:
    adapter: MapAdapter | None = g.get(_ADAPTER)
    if adapter is None:
        adapter = current_app.url_map.bind_to_environ(request.environ)
        setattr(g, _ADAPTER, adapter)
    return adapter


def _placement(code: str) -> tuple[str | None, str | None] | None:
    known: dict[str, Any] = g.setdefault(_PLACEMENTS, {})
    if code not in known:
        known[code] = placement(code)
    found: tuple[str | None, str | None] | None = known[code]
    return found


def may_open(href: str) -> bool:
    """Whether the signed-in visitor (or an anonymous one) may open ``href``, a path on this
    site: its route exists and lets them in."""
    path = urlsplit(href).path
    try:
        endpoint, values = _adapter().match(path, method="GET")
    except HTTPException:  # no such page (or a redirect to another form of it)
        return False
    requirement = requirement_of(endpoint)
    if requirement == PUBLIC:
        return True
    principal = current_principal()
    if principal is None or not isinstance(requirement, Permission):
        return False
    code = values.get(URL_PARAMETER)
    if code is None:
        return requirement in principal.permissions
    placed = _placement(str(code))
    if placed is None:
        return False
    region, supervisor = placed
    return principal.may_enter(str(code), region, supervisor) and principal.allows(
        requirement, str(code), region, supervisor
    )
