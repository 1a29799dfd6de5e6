"""What the assembly gives ``tenants/`` from the domain modules (``kentra.tenants.steps``).

``install()`` runs once per process before anything provisions or upgrades: in ``create_app``,
the ``kentra`` command, the development server, the tests and the benchmarks.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from kentra.platform.audit.operations import platform_event
from kentra.platform.municipalities.operations import seed_tenant_defaults
from kentra.platform.policy.operations import ensure_initial_policy
from kentra.platform.reference.operations import load_reference_data
from kentra.tenants.steps import TenantSteps, install_steps


def _reference_data(session: Session) -> bool:
    return load_reference_data(session).loaded


def _initial_policy(session: Session) -> bool:
    """The programme's staffing bands, once."""
    return ensure_initial_policy(session) is not None


def _tenant_defaults(session: Session, municipality_code: str, actor: str) -> None:
    seed_tenant_defaults(session, municipality_code, actor=actor)


STEPS = TenantSteps(
    # The reference data first: the policy's checks read the municipalities.
    shared_data=(_reference_data, _initial_policy),
    tenant_defaults=_tenant_defaults,
    platform_event=platform_event,
)


def install() -> None:
    """Give tenants/ the modules' steps (idempotent)."""
    install_steps(STEPS)
