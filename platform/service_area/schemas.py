"""Validation and serialisation of the service area and the ministry's exceptions."""

from __future__ import annotations

import marshmallow as ma

from kentra.platform.api import Schema
from kentra.platform.api.fields import MunicipalityCode, Text, length
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.api.schemas import DecisionFields
from kentra.platform.policy.api import SERVICE_AREA_DESCRIPTION, SERVICE_AREAS


class ExceptionInputSchema(Schema):
    """The ministry allows a municipality's mobile units to serve one beyond the area."""

    municipality_code = MunicipalityCode(
        required=True,
        metadata={
            "description": "4-digit ELSTAT code of the municipality whose centre's mobile units"
        },
    )
    served_municipality_code = MunicipalityCode(
        required=True,
        metadata={
            "description": "4-digit ELSTAT code of the municipality they may serve although it "
            "lies outside the area"
        },
    )
    reason = Text(
        required=True,
        validate=length(3, 1000),
        metadata={"description": "why (e.g. the nearest centre across a regional border)"},
    )


class ExceptionSchema(DecisionFields):
    """An exception as the ministry sees it: who decided and when, whose mobile units, the
    municipality they may serve, and why."""

    id = ma.fields.Integer()
    municipality_code = ma.fields.String()
    municipality_name_el = ma.fields.String()
    served_municipality_code = ma.fields.String()
    served_municipality_name_el = ma.fields.String()
    served_region_name_el = ma.fields.String()
    reason = ma.fields.String()


class ExceptionsQueryArgsSchema(PageArgsSchema):
    municipality_code = MunicipalityCode(
        metadata={"description": "only the exceptions of this municipality's mobile units"},
    )


class TenantExceptionSchema(ExceptionSchema):
    """An exception as its municipality sees it (who decided stays with the ministry)."""

    class Meta(ExceptionSchema.Meta):
        exclude = ("id", "municipality_code", "municipality_name_el", "decided_by")


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
