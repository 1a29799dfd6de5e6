"""Serialisation of compliance results and the overview's query arguments."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from kentra.platform.api import Schema
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.api.schemas import MunicipalityRegionFields
from kentra.platform.compliance.access import OVERVIEW_ORDERS
from kentra.platform.compliance.models import ComplianceStatus
from kentra.platform.compliance.operations import ADVISORY_ITEMS, ITEMS

REGION_CODE = validate.Regexp(
    r"^EL[0-9A-Z]{2}$", error="Ο κωδικός Περιφέρειας είναι NUTS 2, π.χ. EL30."
)


class ItemField(ma.fields.Field):  # type: ignore[type-arg]
    """An item code, written out as its code and texts (Greek, English)."""

    def __init__(self, catalogue: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.catalogue = catalogue

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        item = self.catalogue.get(value)
        if item is None:  # a code a later release no longer knows: still shown
            return {"code": value, "text_el": value, "text_en": value}
        return {"code": item.code, "text_el": item.text_el, "text_en": item.text_en}


class CentreComplianceSchema(Schema):
    centre_id = ma.fields.Integer()
    centre_name = ma.fields.String()
    status = ma.fields.Enum(ComplianceStatus, by_value=True)
    unmet = ma.fields.List(ItemField(ITEMS), metadata={"description": "in a fixed order"})
    staff_count = ma.fields.Integer()
    required_staff = ma.fields.Integer()
    policy_version_id = ma.fields.Integer()
    computed_at = ma.fields.DateTime()


class MunicipalityCentreComplianceSchema(CentreComplianceSchema):
    advisory = ma.fields.List(
        ItemField(ADVISORY_ITEMS),
        metadata={"description": "premises recommendations not met (they do not count)"},
    )


class MunicipalityComplianceSchema(Schema):
    municipality_code = ma.fields.String()
    population = ma.fields.Integer()
    centres = ma.fields.List(ma.fields.Nested(MunicipalityCentreComplianceSchema))


class OverviewCentreSchema(MunicipalityRegionFields, CentreComplianceSchema):
    """A centre's result in the ministry's overview: the centre's fields, then its
    municipality's and region's (the later base's fields come first)."""


class ComplianceCountsSchema(Schema):
    compliant = ma.fields.Integer()
    non_compliant = ma.fields.Integer()
    total = ma.fields.Integer()


class ComplianceOverviewSchema(Schema):
    counts = ma.fields.Nested(ComplianceCountsSchema)
    centres = ma.fields.List(ma.fields.Nested(OverviewCentreSchema))


class ComplianceOverviewQueryArgsSchema(Schema):
    region = ma.fields.String(validate=REGION_CODE)
    status = ma.fields.Enum(ComplianceStatus, by_value=True)


OVERVIEW_ORDER_NAMES = list(OVERVIEW_ORDERS)


class ComplianceOverviewPageArgsSchema(ComplianceOverviewQueryArgsSchema, PageArgsSchema):
    """The overview's filters, its order and a page of its centres (``cursor``,
    ``per_page``; a cursor is bound to its order and direction)."""

    order = ma.fields.String(
        load_default="region",
        validate=validate.OneOf(OVERVIEW_ORDER_NAMES),
        metadata={"description": "the centres' order: " + ", ".join(OVERVIEW_ORDER_NAMES)},
    )
    descending = ma.fields.Boolean(
        load_default=False, metadata={"description": "true: the order reversed"}
    )
