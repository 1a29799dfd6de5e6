"""Serialisation of the reference data."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from kentra.platform.api import Schema
from kentra.platform.api.paging import PageArgsSchema


class RegionSchema(Schema):
    code = ma.fields.String(metadata={"description": "NUTS 2 code, e.g. EL30"})
    name_el = ma.fields.String()


class SeatSchema(Schema):
    municipality_code = ma.fields.String(attribute="seat_municipality_code")
    town = ma.fields.String(attribute="seat_town")
    basis = ma.fields.String(attribute="seat_basis")


class RegionalUnitSchema(Schema):
    code = ma.fields.String(metadata={"description": "two-digit ELSTAT prefix, e.g. 45"})
    name_el = ma.fields.String()
    nuts3 = ma.fields.String()
    seat = ma.fields.Method(
        "get_seat",
        metadata={"description": "the seat municipality, or null where it is not determined"},
    )

    def get_seat(self, unit: Any) -> dict[str, Any] | None:
        if unit.seat_municipality_code is None:
            return None
        result: dict[str, Any] = SeatSchema().dump(unit)
        return result


class StaffingSchema(Schema):
    policy_version = ma.fields.Integer(
        metadata={"description": "the staffing policy version applied"}
    )
    minimum_staff = ma.fields.Integer(
        metadata={"description": "0 when no centre of its own is allowed"}
    )
    own_centre_allowed = ma.fields.Boolean()


class MunicipalitySchema(Schema):
    code = ma.fields.String(
        metadata={"description": "4-digit ELSTAT code (text: the leading zero matters)"}
    )
    name_el = ma.fields.String()
    name_latin = ma.fields.String(metadata={"description": "ELOT 743 transliteration"})
    region = ma.fields.Nested(RegionSchema, attribute="regional_unit.region")
    regional_unit = ma.fields.Nested(RegionalUnitSchema)
    population = ma.fields.Integer(
        metadata={"description": "ELSTAT 2021 census, resident population"}
    )
    population_provisional = ma.fields.Boolean()
    is_regional_unit_seat = ma.fields.Boolean(
        allow_none=True, metadata={"description": "null where the sources do not confirm it"}
    )
    staffing = ma.fields.Nested(
        StaffingSchema,
        allow_none=True,
        metadata={"description": "the staffing band under the policy in force (domain.md §6)"},
    )


class MunicipalityQueryArgsSchema(PageArgsSchema):
    """The filters, and the page (``cursor``, ``per_page``; the list is by code)."""

    region = ma.fields.String(
        validate=validate.Regexp(r"^EL[0-9]{2}$", error="A region is a NUTS 2 code such as EL30."),
        metadata={"description": "NUTS 2 code of the region"},
    )
    regional_unit = ma.fields.String(
        validate=validate.Regexp(
            r"^[0-9]{2}$", error="A regional unit is a two-digit code such as 45."
        ),
        metadata={"description": "two-digit code of the regional unit"},
    )
    q = ma.fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "part of the name, Greek or Latin; case and accents are ignored"},
    )
