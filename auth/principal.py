"""The principal: who is calling, built from a validated access token's claims."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeAlias

from kentra.auth import claims as contract
from kentra.auth.permissions import ROLE_PERMISSIONS, Permission
from kentra.auth.roles import ROLE_REACH, Profession, Reach, Role

log = logging.getLogger(__name__)
_ORGANIZATION = re.compile(re.escape(contract.ORGANIZATION_PREFIX) + r"([0-9]{4})", re.ASCII)
_SEGMENT = re.compile(r"[a-z0-9][a-z0-9-]{0,62}", re.ASCII)
_REGION = re.compile(r"EL[0-9]{2}", re.ASCII)


@dataclass(frozen=True, order=True)
class UnitPath:
    """A unit group path ``/m-<code>/<centre>[/<annex or mobile unit>]``."""

    municipality_code: str
    centre: str
    unit: str | None = None

    @classmethod
    def parse(cls, path: str) -> UnitPath | None:
        parts = path.split("/")
        if len(parts) not in (3, 4) or parts[0] != "":
            return None
        organization = _ORGANIZATION.fullmatch(parts[1])
        if organization is None or not all(_SEGMENT.fullmatch(p) for p in parts[2:]):
            return None
        return cls(organization.group(1), parts[2], parts[3] if len(parts) == 4 else None)

    def __str__(self) -> str:
        tail = f"/{self.unit}" if self.unit else ""
        return f"/{contract.ORGANIZATION_PREFIX}{self.municipality_code}/{self.centre}{tail}"

    def contains(self, other: UnitPath) -> bool:
        """A centre contains itself and its annexes and mobile units; a unit only itself."""
        if (self.municipality_code, self.centre) != (other.municipality_code, other.centre):
            return False
        return self.unit is None or self.unit == other.unit


_BY_PLACEMENT = frozenset({Reach.REGION, Reach.SUPERVISION})


@dataclass(frozen=True)
class Principal:
    subject: str
    client: str
    username: str | None = None
    roles: frozenset[Role] = frozenset()
    organization: str | None = None  # municipality code
    region: str | None = None  # NUTS 2 code, for regional officers
    units: tuple[UnitPath, ...] = ()
    profession: Profession | None = None
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Read roles, organization, region, units and profession; ignore what is malformed."""
        roles = frozenset(_roles(claims))
        organization = _organization(claims)
        units = tuple(
            sorted(
                unit
                for unit in (UnitPath.parse(p) for p in _strings(claims.get(contract.CLAIM_GROUPS)))
                # A unit counts only inside the principal's own municipality.
                if unit is not None and unit.municipality_code == organization
            )
        )
        region = claims.get(contract.CLAIM_REGION)
        profession = claims.get(contract.CLAIM_PROFESSION)
        return cls(
            subject=str(claims["sub"]),
            client=str(claims.get("azp", "")),
            username=claims.get(contract.CLAIM_USERNAME),
            roles=roles,
            organization=organization,
            region=region if isinstance(region, str) and _REGION.fullmatch(region) else None,
            units=units,
            profession=Profession(profession) if profession in set(Profession) else None,
            # Read-only: a principal is shared by every request with its token (validate_as).
            claims=MappingProxyType(dict(claims)),
        )

    @property
    def actor(self) -> str:
        """Who the principal's reads and changes are recorded as: the token's subject."""
        return self.subject

    @property
    def permissions(self) -> frozenset[Permission]:
        return frozenset(p for role in self.roles for p in ROLE_PERMISSIONS[role])

    @property
    def reaches_by_placement(self) -> bool:
        """Whether a role reaches municipalities by where they are (a region, the supervision
        of a regional unit's municipalities): deciding its access then needs the tenant's
        region and supervising municipality. The other roles reach every municipality, or their
        own by its code."""
        return any(ROLE_REACH[role] in _BY_PLACEMENT for role in self.roles)

    def _reaches(
        self, role: Role, tenant_code: str, tenant_region: str | None, tenant_supervisor: str | None
    ) -> bool:
        reach = ROLE_REACH[role]
        if reach is Reach.NATIONAL:
            return True
        if reach is Reach.REGION:
            return self.region is not None and self.region == tenant_region
        if self.organization is None:
            return False
        if reach is Reach.SUPERVISION and self.organization == tenant_supervisor:
            return True
        return self.organization == tenant_code

    def may_enter(
        self, tenant_code: str, tenant_region: str | None, tenant_supervisor: str | None = None
    ) -> bool:
        """Whether any of the principal's roles reaches this municipality at all.

        ``tenant_supervisor``: the municipality whose directorates supervise it (derived, see
        kentra.platform.supervision; None when not determined)."""
        return any(
            self._reaches(role, tenant_code, tenant_region, tenant_supervisor)
            for role in self.roles
        )

    def allows(
        self,
        permission: Permission,
        tenant_code: str,
        tenant_region: str | None,
        tenant_supervisor: str | None = None,
    ) -> bool:
        """Whether a role that holds ``permission`` reaches this municipality."""
        return any(
            permission in ROLE_PERMISSIONS[role]
            and self._reaches(role, tenant_code, tenant_region, tenant_supervisor)
            for role in self.roles
        )

    def reaches_unit(self, unit: UnitPath) -> bool:
        """Unit scope: a centre head's centre group covers its annexes and mobile units; staff
        reach the units whose groups they belong to."""
        return any(member.contains(unit) for member in self.units)


@dataclass(frozen=True)
class SystemPrincipal:
    """Work that no person asked for in a request (a scheduled task, a fan-out, the CLI, a
    seed, a provisioning step) reading tenant data: the only way such work calls a loader.

    It holds no roles, permissions, organization or units of a person, and the loaders give it
    no unit scope: it reads what its work needs. Its reads of personal data are audited as a
    person's are, by ``actor`` (``system:<reason>``), so the audit says why the system read
    them. ``reason`` is a short fixed phrase naming the work (``"offboarding"``), never data.
    """

    reason: str

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("system work names its reason")

    @property
    def actor(self) -> str:
        return f"system:{self.reason}"


@dataclass(frozen=True)
class Anonymous:
    """A visitor who has not signed in: reads public data only (reference data, the policy in
    force), through the loaders of public data."""

    @property
    def actor(self) -> str:
        return "anonymous"


ANONYMOUS = Anonymous()

# Who reads, as every loader takes it: a signed-in person, or system work with its reason.
Reader: TypeAlias = Principal | SystemPrincipal
# Who reads public data: also a visitor who has not signed in.
PublicReader: TypeAlias = Principal | SystemPrincipal | Anonymous


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _roles(claims: Mapping[str, Any]) -> list[Role]:
    access = claims.get(contract.CLAIM_ROLES)
    client = access.get(contract.API_CLIENT) if isinstance(access, dict) else None
    names = _strings(client.get("roles")) if isinstance(client, dict) else []
    known = {role.value for role in Role}
    unknown = [name for name in names if name not in known]
    if unknown:
        log.warning("token carries unknown roles; ignored", extra={"roles": unknown})
    return [Role(name) for name in names if name in known]


def _organization(claims: Mapping[str, Any]) -> str | None:
    """The one municipality of the token; none when there are several (ambiguous) or none."""
    value = claims.get(contract.CLAIM_ORGANIZATION)
    aliases = list(value) if isinstance(value, dict) else _strings(value)
    codes = {m.group(1) for m in (_ORGANIZATION.fullmatch(a) for a in aliases) if m}
    return codes.pop() if len(codes) == 1 else None
