"""Groups of response fields that several modules' schemas answer with, each declared once
(ADR 0043: no module imports another's schemas for them). A schema takes a group by deriving
from it; marshmallow puts inherited fields before the schema's own, and a base named later in
the class's bases before one named earlier. The groups are never answered on their own, so
they are not components of the API document."""

from __future__ import annotations

import marshmallow as ma

from kentra.platform.api import Schema


class MunicipalityFields(Schema):
    """The municipality a row of a ministry-wide list belongs to (the tenant's code)."""

    municipality_code = ma.fields.String()
    municipality_name = ma.fields.String()


class MunicipalityRegionFields(MunicipalityFields):
    """The municipality and its region (NUTS 2), for the ministry's overviews by region."""

    region_code = ma.fields.String()
    region_name = ma.fields.String()


class FanOutProgressFields(Schema):
    """How far a fan-out run (``shared.fanout_runs``, :mod:`kentra.tasks.fanout`) has got: the
    municipalities it covers, done and failed, and when it was asked for, started and ended."""

    total = ma.fields.Integer()
    done = ma.fields.Integer()
    failed = ma.fields.Integer()
    requested_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)


class DecisionFields(Schema):
    """Who took a decision that stands (a ministry user), and when."""

    decided_by = ma.fields.String(metadata={"description": "the token subject of the decider"})
    decided_at = ma.fields.DateTime()
