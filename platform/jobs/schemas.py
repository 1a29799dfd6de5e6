"""Serialisation of the fan-out runs (the ministry's jobs API)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from kentra.platform.api import Schema
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.api.schemas import FanOutProgressFields, MunicipalityFields
from kentra.tasks.models import RunStatus, TenantState


class RunSchema(FanOutProgressFields):
    id = ma.fields.Integer()
    task_name = ma.fields.String()
    actor = ma.fields.String(metadata={"description": "a subject, or schedule / cli"})
    status = ma.fields.Enum(RunStatus, by_value=True)
    details = ma.fields.Dict(
        keys=ma.fields.String(), metadata={"description": "ids of what caused the run"}
    )
    retried = ma.fields.Integer(metadata={"description": "failed attempts sent again"})
    duration_seconds = ma.fields.Method("_duration", allow_none=True)

    def _duration(self, run: Any) -> float | None:
        duration = run["duration"] if isinstance(run, dict) else run.duration
        return None if duration is None else float(duration.total_seconds())


class RunListSchema(Schema):
    runs = ma.fields.List(
        ma.fields.Nested(RunSchema),
        metadata={"description": "a page of the runs, newest first (the pages around: Link)"},
    )


class RunPageArgsSchema(PageArgsSchema):
    """A page of the runs (``cursor``, ``per_page``)."""


class TenantProblemSchema(MunicipalityFields):
    state = ma.fields.Enum(TenantState, by_value=True)
    attempts = ma.fields.Integer()
    error_type = ma.fields.String(
        allow_none=True, metadata={"description": "a type, never a message"}
    )


class RunDetailSchema(RunSchema):
    problems = ma.fields.List(
        ma.fields.Nested(TenantProblemSchema),
        metadata={"description": "municipalities that failed or wait for a retry"},
    )
