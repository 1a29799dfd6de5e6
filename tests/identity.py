"""Identity admins for tests that do not test identity (ADR 0039).

:class:`NullIdentityAdmin` implements :class:`~kentra.auth.identity.IdentityAdmin`: it records
each call and changes nothing, so an operation that also creates a group or a user can be
tested in a transaction that never commits. :class:`FailingIdentityAdmin` stands for a
provider that is down for some of its calls (the others go to the admin it wraps, a real one
where the test checks what the provider kept). :func:`provider` answers either in place of
``identity_admin(settings, engine)`` for a test that patches a module's provider.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kentra.auth.identity import IdentityAdmin, UserSpec
from kentra.auth.principal import UnitPath
from kentra.auth.roles import Profession, Role


@dataclass
class NullIdentityAdmin:
    """Records ``(method, arguments)`` in :attr:`calls`; answers ids made of the arguments."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, _arguments in self.calls]

    def ensure_organization(self, municipality_code: str, name: str) -> str:
        self.calls.append(("ensure_organization", (municipality_code, name)))
        return f"org-{municipality_code}"

    def remove_organization(self, municipality_code: str) -> None:
        self.calls.append(("remove_organization", (municipality_code,)))

    def ensure_unit_group(self, unit: UnitPath, name: str) -> str:
        self.calls.append(("ensure_unit_group", (unit, name)))
        return f"group-{unit}"

    def check_user(self, user: UserSpec) -> None:
        self.calls.append(("check_user", (user,)))

    def ensure_user(self, user: UserSpec, *, exclusive: bool = False) -> str:
        self.calls.append(("ensure_user", (user, exclusive)))
        return f"user-{user.username}"

    def disable_user(self, username: str, *, municipality_code: str | None = None) -> None:
        self.calls.append(("disable_user", (username, municipality_code)))


class FailingIdentityAdmin:
    """``inner`` (a :class:`NullIdentityAdmin` unless given), except that each method named in
    ``failing`` raises ``error`` (a provider that does not answer)."""

    def __init__(
        self,
        *failing: str,
        inner: IdentityAdmin | None = None,
        error: Exception | None = None,
    ) -> None:
        self.inner: IdentityAdmin = inner if inner is not None else NullIdentityAdmin()
        self.failing = frozenset(failing)
        self.error = error if error is not None else ConnectionError("identity provider down")

    def __getattr__(self, name: str) -> Any:
        if name in self.failing:

            def fail(*_args: Any, **_kwargs: Any) -> Any:
                raise self.error

            return fail
        return getattr(self.inner, name)


def provider(admin: IdentityAdmin) -> Callable[..., IdentityAdmin]:
    """A stand-in for ``kentra.auth.adapters.identity_admin`` answering ``admin``."""
    return lambda *_args: admin


def failing_provider(
    real: Callable[..., IdentityAdmin], *failing: str
) -> Callable[..., IdentityAdmin]:
    """A stand-in for ``identity_admin`` whose admins are ``real``'s except that the methods
    named in ``failing`` raise (organizations made, the invitation failing, say)."""
    return lambda *args: FailingIdentityAdmin(*failing, inner=real(*args))


def staff_spec(**changes: Any) -> UserSpec:
    """A social worker of an annex of Athens' centre; ``changes`` replace fields."""
    spec = UserSpec(
        username="m.papadopoulou",
        email="m.papadopoulou@example.gr",
        role=Role.STAFF,
        municipality_code="4501",
        unit=UnitPath("4501", "kk-athinon", "parartima-1"),
        profession=Profession.SOCIAL_WORKER,
        first_name="Μαρία",
        last_name="Παπαδοπούλου",
    )
    return dataclasses.replace(spec, **changes)
