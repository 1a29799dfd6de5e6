"""Serialisation of units."""

from __future__ import annotations

import marshmallow as ma

from kentra.platform.api import Schema


class UnitSchema(Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    name = ma.fields.String()
    path = ma.fields.String(metadata={"description": "the identity group path of the unit"})
    closed_on = ma.fields.Date(allow_none=True)
