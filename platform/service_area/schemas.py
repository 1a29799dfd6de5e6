"""Validation and serialisation of the service area and the ministry's exceptions."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from kentra.platform.api import Schema
from kentra.platform.api.fields import REQUIRED, Text
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.policy.schemas import SERVICE_AREA_DESCRIPTION, SERVICE_AREAS

INVALID_CODE = "Ο κωδικός Δήμου είναι τετραψήφιος (ΕΛΣΤΑΤ), π.χ. 4501."
REASON_LENGTH = "Το κείμενο πρέπει να έχει από 3 έως 1000 χαρακτήρες."


def _code(description: str) -> Text:
    return Text(
        required=True,
        validate=validate.Regexp(r"^[0-9]{4}$", error=INVALID_CODE),
        metadata={"description": description},
    )


class ExceptionInputSchema(Schema):
    """The ministry allows a municipality's mobile units to serve one beyond the area."""

    municipality_code = _code("4-digit ELSTAT code of the municipality whose centre's mobile units")
    served_municipality_code = _code(
        "4-digit ELSTAT code of the municipality they may serve although it lies outside the area"
    )
    reason = Text(
        required=True,
        validate=validate.Length(min=3, max=1000, error=REASON_LENGTH),
        error_messages={**REQUIRED, "invalid": "Το πεδίο πρέπει να είναι κείμενο."},
        metadata={"description": "why (e.g. the nearest centre across a regional border)"},
    )


class ExceptionSchema(Schema):
    id = ma.fields.Integer()
    municipality_code = ma.fields.String()
    municipality_name_el = ma.fields.String()
    served_municipality_code = ma.fields.String()
    served_municipality_name_el = ma.fields.String()
    served_region_name_el = ma.fields.String()
    reason = ma.fields.String()
    decided_by = ma.fields.String(metadata={"description": "the token subject of the decider"})
    decided_at = ma.fields.DateTime()


class ExceptionsQueryArgsSchema(PageArgsSchema):
    municipality_code = Text(
        validate=validate.Regexp(r"^[0-9]{4}$", error=INVALID_CODE),
        metadata={"description": "only the exceptions of this municipality's mobile units"},
    )


class TenantExceptionSchema(Schema):
    """An exception as its municipality sees it (who decided stays with the ministry)."""

    served_municipality_code = ma.fields.String()
    served_municipality_name_el = ma.fields.String()
    served_region_name_el = ma.fields.String()
    reason = ma.fields.String()
    decided_at = ma.fields.DateTime()


class ServiceAreaSchema(Schema):
    municipality_code = ma.fields.String()
    area = ma.fields.String(
        metadata={
            "description": f"{SERVICE_AREA_DESCRIPTION} (policy in force)",
            "enum": SERVICE_AREAS,
        }
    )
    regional_unit_code = ma.fields.String()
    regional_unit_name_el = ma.fields.String()
    region_code = ma.fields.String(metadata={"description": "NUTS 2"})
    region_name_el = ma.fields.String()
    exceptions = ma.fields.List(
        ma.fields.Nested(TenantExceptionSchema),
        metadata={"description": "municipalities beyond the area the ministry allows"},
    )
