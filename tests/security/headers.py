"""What a page of a government service must answer with (§5 of issue 10), checked on the
Flask test client's answers and on every document of the browser journey."""

from __future__ import annotations

from collections.abc import Mapping

# Referrer policies that send nothing of a page's address to other sites.
STRICT_REFERRER_POLICIES = frozenset(
    {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
)


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        if words := part.split():
            directives[words[0].lower()] = words[1:]
    return directives


def security_header_problems(headers: Mapping[str, str], *, secure: bool) -> list[str]:
    """What is missing or weak in a page's headers (names in any case); [] when all is well."""
    lower = {name.lower(): value for name, value in headers.items()}
    problems = []
    policy = csp_directives(lower.get("content-security-policy", ""))
    # 'self' is what the issue asks; the embedded issuer's pages are stricter still ('none').
    if policy.get("default-src") not in (["'self'"], ["'none'"]):
        problems.append(f"default-src is {policy.get('default-src')}")
    if policy.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is {policy.get('frame-ancestors')}")
    scripts = policy.get("script-src", policy.get("default-src", []))
    if {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(scripts):
        problems.append(f"script-src allows {scripts}")
    if lower.get("x-frame-options", "").upper() != "DENY":
        problems.append(f"X-Frame-Options is {lower.get('x-frame-options')!r}")
    if lower.get("referrer-policy") not in STRICT_REFERRER_POLICIES:
        problems.append(f"Referrer-Policy is {lower.get('referrer-policy')!r}")
    permissions = lower.get("permissions-policy", "")
    if "camera=()" not in permissions or "geolocation=()" not in permissions:
        problems.append(f"Permissions-Policy is {permissions!r}")
    if lower.get("x-content-type-options") != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    hsts = lower.get("strict-transport-security")
    if secure and not (hsts or "").startswith("max-age="):
        problems.append("no Strict-Transport-Security over TLS")
    if not secure and hsts is not None:
        problems.append("Strict-Transport-Security over plain HTTP")
    return problems
