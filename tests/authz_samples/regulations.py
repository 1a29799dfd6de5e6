"""Samples of the operating regulations' routes: one draft version under the same id in both
municipalities, on the own centre (4501) and on the other tenant's centre (7101).

A draft, so that allowed roles' empty POSTs change nothing: approve without If-Match is a 428,
submit a 428, acknowledge a 428, return a 422 (no comments); the web forms without their CSRF
token a 400.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, delete

from kentra.platform.regulations.models import RegulationKind, RegulationStatus, RegulationVersion
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code

REGULATION_ID = 999_000_301
PDF = b"%PDF-1.4\n% authorization matrix sample\n%%EOF\n"
CENTRES = {"4501": "own centre", "7101": "other tenant's centre"}


def prepare(engine: Engine, unit_ids: dict[str, int]) -> dict[str, str]:
    for code, centre in CENTRES.items():
        with tenant_session(engine, parse_municipality_code(code)) as session:
            session.add(
                RegulationVersion(
                    id=REGULATION_ID,
                    centre_id=unit_ids[centre],
                    kind=RegulationKind.INITIAL,
                    effective_date=date(2025, 1, 1),
                    change_summary="",
                    status=RegulationStatus.DRAFT,
                    filename="sample.pdf",
                    size_bytes=len(PDF),
                    sha256="0" * 64,
                    content=PDF,
                    uploaded_by="test",
                )
            )
    return {"regulation_id": str(REGULATION_ID)}


def cleanup(engine: Engine) -> None:
    for code in CENTRES:
        with tenant_session(engine, parse_municipality_code(code)) as session:
            session.execute(delete(RegulationVersion).where(RegulationVersion.id == REGULATION_ID))
