"""Serialisation of a municipality's public profile."""

from __future__ import annotations

import marshmallow as ma

from kentra.platform.api import Schema


class MunicipalityProfileSchema(Schema):
    code = ma.fields.String()
    name_el = ma.fields.String()
    name_latin = ma.fields.String()
    status = ma.fields.String()
