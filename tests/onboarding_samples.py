"""A decided onboarding request, as the tests that need one (authorization matrix, hostile
input) insert it: deciding it again passes validation and then answers 409."""

from __future__ import annotations

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from kentra.platform.core.models import utcnow
from kentra.platform.onboarding.models import BodyType, OnboardingRequest, RequestStatus


def add_rejected_request(
    engine: Engine, request_id: int, municipality_code: str, label: str
) -> None:
    """Insert request ``request_id`` of ``municipality_code``, already rejected; ``label``
    names it in its contact fields (no real person)."""
    with Session(engine) as session, session.begin():
        session.add(
            OnboardingRequest(
                id=request_id,
                municipality_code=municipality_code,
                body_type=BodyType.MUNICIPALITY,
                body_legal_name=f"Δήμος δείγματος {municipality_code}",
                body_vat="090000045",
                contact_name="Δείγμα",
                contact_email=f"{label}@example.invalid",
                contact_phone="+302101234567",
                has_social_service=False,
                status=RequestStatus.REJECTED,
                decision_reason="δείγμα",
                decided_by="test",
                decided_at=utcnow(),
            )
        )


def remove_request(engine: Engine, request_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(delete(OnboardingRequest).where(OnboardingRequest.id == request_id))
