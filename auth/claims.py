"""The token contract: Keycloak's access-token layout, as the realm export's mappers produce it.

This module is the one place that names claims, clients and the audience. The embedded issuer
signs tokens with exactly this layout, and ``infra/keycloak/realm-kentra.json`` defines the
mappers that make Keycloak produce it (a test compares the two).

An access token, with the claims the platform reads::

    {
      "iss": "<issuer>", "sub": "<user id>", "aud": ["kentra-api"], "azp": "kentra-web",
      "typ": "Bearer", "exp": …, "iat": …, "nbf": … (optional), "jti": "…",
      "preferred_username": "…",
      "resource_access": {"kentra-api": {"roles": ["staff"]}},   # client roles
      "organization": ["m-4501"],                                 # organization aliases
      "groups": ["/m-4501/kk-athinon/parartima-1"],               # unit group paths
      "kentra_region": "EL30",                                    # regional officers only
      "kentra_profession": "social_worker"                        # staff only
    }
"""

from __future__ import annotations

REALM = "kentra"
# The API's client id: the audience every access token must carry, and the owner of the roles.
API_CLIENT = "kentra-api"
WEB_CLIENT = "kentra-web"
CLI_CLIENT = "kentra-cli"
PROVISIONING_CLIENT = "kentra-provisioning"
# Clients whose tokens the API accepts (the ``azp`` claim).
AUTHORIZED_PARTIES = frozenset({WEB_CLIENT, CLI_CLIENT, PROVISIONING_CLIENT})

CLAIM_ROLES = "resource_access"
CLAIM_ORGANIZATION = "organization"
CLAIM_GROUPS = "groups"
CLAIM_REGION = "kentra_region"
CLAIM_PROFESSION = "kentra_profession"
CLAIM_USERNAME = "preferred_username"

# Organization aliases and the first segment of unit group paths: "m-" + municipality code.
ORGANIZATION_PREFIX = "m-"


def organization_alias(municipality_code: str) -> str:
    return ORGANIZATION_PREFIX + municipality_code
