"""The beneficiaries module's public interface (ADR 0043): no other module imports from it yet."""

from __future__ import annotations

__all__: list[str] = []
