"""The policy module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    from kentra.platform.policy.access import access_policy_in_force
    from kentra.platform.policy.models import PolicyVersion, ServiceArea
    from kentra.platform.policy.operations import (
        policy_in_force,
        staffing_requirement,
        stored_policy_in_force,
    )
    from kentra.platform.policy.recompute import (
        RECOMPUTE_TASK_NAME,
        create_recompute_job,
        recompute_job,
    )
    from kentra.platform.policy.schemas import SERVICE_AREA_DESCRIPTION, SERVICE_AREAS

__all__ = [
    "RECOMPUTE_TASK_NAME",
    "SERVICE_AREAS",
    "SERVICE_AREA_DESCRIPTION",
    "PolicyVersion",
    "ServiceArea",
    "access_policy_in_force",
    "create_recompute_job",
    "policy_in_force",
    "recompute_job",
    "staffing_requirement",
    "stored_policy_in_force",
]
__getattr__ = lazy_interface(__name__, __file__, __all__)
