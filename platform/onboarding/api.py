"""The onboarding module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    from kentra.platform.onboarding.models import BodyType, OnboardingRequest, RequestStatus
    from kentra.platform.onboarding.operations import ineligibility_reason, own_centre_threshold

__all__ = [
    "BodyType",
    "OnboardingRequest",
    "RequestStatus",
    "ineligibility_reason",
    "own_centre_threshold",
]
__getattr__ = lazy_interface(__name__, __file__, __all__)
