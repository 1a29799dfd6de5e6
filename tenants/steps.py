"""What tenants/ runs but does not own: the steps the domain modules give it (ADR 0030).

tenants/ sits below the domain modules and never imports them. The app assembly installs,
once per process and before any provisioning or upgrade (``kentra.platform.app.wiring``):

- the shared data loaded after the shared stream at ``kentra db upgrade``, in order (the
  reference data, then the programme's initial policy);
- the tenant's defaults, written in the provisioning transaction through a session bound to
  the new schema;
- the platform audit entry of each registry change, as an INSERT (provisioning runs it as a
  CTE of the registry's own statement).

Without them tenants/ refuses to provision or upgrade (:class:`StepsNotInstalled`): a tenant
without its defaults, or a database without its reference data, is never made silently.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.orm import Session


class StepsNotInstalled(RuntimeError):
    """tenants/ was asked to provision or upgrade before the assembly installed its steps."""


@dataclass(frozen=True)
class TenantSteps:
    # Each loads its data if missing or changed, and says whether it wrote anything.
    shared_data: Sequence[Callable[[Session], bool]]
    # (session bound to the new tenant's schema, municipality code, actor)
    tenant_defaults: Callable[[Session, str, str], None]
    # (actor=, action=, tenant_code=, details=) -> the INSERT of one platform audit row
    platform_event: Callable[..., Insert]


_installed: list[TenantSteps] = []


def install_steps(steps: TenantSteps) -> None:
    """Install (or replace) the process's steps."""
    _installed[:] = [steps]


def installed_steps() -> TenantSteps:
    if not _installed:
        raise StepsNotInstalled(
            "tenants/ has no steps from the domain modules: call "
            "kentra.platform.app.wiring.install() first (the app, the CLI and the tests do)"
        )
    return _installed[0]


def record_registry_event(session: Session, **event: Any) -> None:
    """The platform audit entry of a registry change, in ``session``'s transaction."""
    session.execute(installed_steps().platform_event(**event))
