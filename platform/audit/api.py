"""The audit module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    from kentra.platform.audit.access import access_accesses_to, access_audit_event_count
    from kentra.platform.audit.operations import (
        record_change,
        record_platform_event,
        record_platform_event_at_once,
        record_tenant_event,
        tenant_event,
    )

__all__ = [
    "access_accesses_to",
    "access_audit_event_count",
    "record_change",
    "record_platform_event",
    "record_platform_event_at_once",
    "record_tenant_event",
    "tenant_event",
]
__getattr__ = lazy_interface(__name__, __file__, __all__)
