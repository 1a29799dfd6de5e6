"""The development copy of the realm export, for the Keycloak of ``infra/dev/keycloak.sh``.

Standard library only: the script runs it with the system's python3, before any virtualenv.
The copy differs from ``infra/keycloak/realm-kentra.json`` in exactly what ``DEV_CHANGES``
names, and tests/keycloak checks that nothing else differs after import:

* the secrets of ``kentra-provisioning`` and ``kentra-web`` are set (the export has none, so
  Keycloak would generate random ones): the platform's development defaults, the same as the
  embedded issuer's, or ``KENTRA_KEYCLOAK_ADMIN_SECRET`` / ``KENTRA_OIDC_WEB_CLIENT_SECRET``;
* the password policy's minimum length is 10 instead of 12, so that the embedded issuer's demo
  passwords (``demo-staff`` and the like) can be set on the demo users;
* ``kentra-web`` also accepts ``WEB_TEST_URL`` (a fixed loopback port, the one the web login
  tests of tests/keycloak serve the platform on) as a redirect and post-logout redirect URI:
  Keycloak matches redirect URIs port and all, and the production export names only
  ``http://127.0.0.1:5000`` (``make run``) and the public host.

Usage: ``python3 keycloak_dev_realm.py <export> <output>``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# The embedded issuer's development defaults (auth/issuer/clients.py).
PROVISIONING_DEV_SECRET = "kentra-provisioning-dev-secret"  # noqa: S105 - development only
WEB_DEV_SECRET = "kentra-web-dev-secret"  # noqa: S105 - development only
DEV_PASSWORD_POLICY = "length(10) and notUsername and notEmail"  # noqa: S105 - a policy
# The realm settings the development copy changes (client secrets aside).
DEV_CHANGES = {"passwordPolicy": DEV_PASSWORD_POLICY}
# Where tests/keycloak/test_web_login.py serves the platform (kentra-web's extra redirect URIs).
WEB_TEST_URL = "http://127.0.0.1:5099"
WEB_CLIENT = "kentra-web"
POST_LOGOUT_REDIRECT_URIS = "post.logout.redirect.uris"  # "##"-separated, as Keycloak keeps it


def client_secrets(environ: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {
        "kentra-provisioning": env.get("KENTRA_KEYCLOAK_ADMIN_SECRET") or PROVISIONING_DEV_SECRET,
        "kentra-web": env.get("KENTRA_OIDC_WEB_CLIENT_SECRET") or WEB_DEV_SECRET,
    }


def dev_realm(realm: dict[str, Any], secrets: dict[str, str]) -> dict[str, Any]:
    """The export with the development secrets, password policy and test redirect URIs."""
    copy: dict[str, Any] = json.loads(json.dumps(realm))
    copy.update(DEV_CHANGES)
    for client in copy["clients"]:
        if client["clientId"] in secrets:
            client["secret"] = secrets[client["clientId"]]
        if client["clientId"] == WEB_CLIENT:
            client["redirectUris"] = [*client["redirectUris"], WEB_TEST_URL + "/auth/callback"]
            attributes = client["attributes"]
            attributes[POST_LOGOUT_REDIRECT_URIS] = "##".join(
                [*attributes[POST_LOGOUT_REDIRECT_URIS].split("##"), WEB_TEST_URL + "/"]
            )
    return copy


def main(argv: list[str]) -> int:
    if len(argv) != 3:  # the program, the export, the output
        sys.stderr.write(__doc__ or "")
        return 2
    realm = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    output = Path(argv[2])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(dev_realm(realm, client_secrets()), ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
