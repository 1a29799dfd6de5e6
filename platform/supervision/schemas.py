"""Serialisation of derived supervision and of the ministry's seat decisions."""

from __future__ import annotations

import marshmallow as ma

from kentra.platform.api import Schema
from kentra.platform.api.fields import MunicipalityCode, Text, length
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.api.schemas import DecisionFields
from kentra.platform.core import inputs
from kentra.platform.supervision.operations import Basis


class SupervisionSchema(Schema):
    municipality_code = ma.fields.String()
    municipality_name_el = ma.fields.String()
    supervisor_code = ma.fields.String(
        allow_none=True,
        metadata={"description": "the supervising municipality; null: not determined"},
    )
    supervisor_name_el = ma.fields.String(allow_none=True)
    basis = ma.fields.String(
        metadata={
            "description": "own Social Service, the regional unit's seat (reference data), the "
            "seat the ministry decided, or not determined (Social Service not stated, or the "
            "seat unknown and not yet decided)",
            "enum": [b.value for b in Basis],
        }
    )


class MunicipalityRefSchema(Schema):
    code = ma.fields.String()
    name_el = ma.fields.String()


class SeatDecisionSchema(DecisionFields):
    seat_municipality_code = ma.fields.String()
    seat_name_el = ma.fields.String()
    note = ma.fields.String()


class UnknownSeatSchema(Schema):
    regional_unit_code = ma.fields.String(attribute="code")
    name_el = ma.fields.String()
    region_code = ma.fields.String()
    region_name_el = ma.fields.String()
    municipalities = ma.fields.List(
        ma.fields.Nested(MunicipalityRefSchema),
        metadata={"description": "the unit's municipalities, any of which may be set as seat"},
    )
    decision = ma.fields.Nested(
        SeatDecisionSchema,
        allow_none=True,
        metadata={"description": "the ministry's decision; null: not determined yet"},
    )


class SeatDecisionInputSchema(Schema):
    """The ministry's decision on an unknown seat: a municipality of the unit and a note."""

    seat_municipality_code = MunicipalityCode(
        required=True,
        metadata={"description": "4-digit ELSTAT code of a municipality of this regional unit"},
    )
    note = Text(
        required=True,
        validate=length(3, 1000),
        metadata=inputs.multiline(
            description="the basis of the decision (e.g. the act that names the seat)"
        ),
    )


class SupervisionPageArgsSchema(PageArgsSchema):
    """A page of a supervision list (``cursor``, ``per_page``)."""
