"""A real Keycloak (``infra/dev/keycloak.sh start``, realm imported from the export).

These tests are collected only when ``KENTRA_TEST_KEYCLOAK_URL`` is set (tests/conftest.py:
``collect_ignore``), so they never show as skipped: ``make test`` sets it when
``infra/dev/keycloak.sh status`` says Keycloak runs, and ``.ci/run`` starts Keycloak and sets it.
They sign in only as the ``kentra-provisioning`` service account (the platform's own rights) and
use municipality codes 9000-9999, which no demo or real municipality has, cleaning up what they
create; the demo users of ``auth/issuer/demo.py`` they seed are the ones ``make run`` seeds.
"""

from __future__ import annotations

import itertools
import os
import random
import socketserver
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from keycloak import KeycloakAdmin
from sqlalchemy import Engine

from kentra.auth.claims import CLI_CLIENT, PROVISIONING_CLIENT, REALM
from kentra.auth.identity import UserSpec
from kentra.auth.issuer.demo import DEMO_USERS, DemoLogin, seed_demo_users
from kentra.auth.issuer.server import embedded_issuer
from kentra.auth.keycloak_admin import KeycloakIdentityAdmin
from kentra.auth.principal import Principal, UnitPath
from kentra.auth.tokens import HttpJwks, JwksCache, TokenValidator
from kentra.platform.core.config import EMBEDDED_ISSUER_PATH, Settings
from tests.keycloak.dev_realm import DEV_REALM

URL_VARIABLE = "KENTRA_TEST_KEYCLOAK_URL"
# Scratch municipality codes 9900-9999, from a random start so that runs rarely meet leftovers.
_CODES = itertools.count(random.randrange(100))


@pytest.fixture(scope="session")
def keycloak_url() -> str:
    return os.environ[URL_VARIABLE].rstrip("/")


@pytest.fixture(scope="session")
def keycloak_issuer(keycloak_url: str) -> str:
    return f"{keycloak_url}/realms/{REALM}"


@pytest.fixture(scope="session")
def provisioning_secret() -> str:
    secret: str = DEV_REALM.client_secrets()[PROVISIONING_CLIENT]
    return secret


@pytest.fixture(scope="session")
def kc(keycloak_url: str, provisioning_secret: str) -> KeycloakAdmin:
    """python-keycloak as the provisioning service account, for reading what the adapter did."""
    return KeycloakAdmin(
        server_url=keycloak_url + "/",
        realm_name=REALM,
        client_id=PROVISIONING_CLIENT,
        client_secret_key=provisioning_secret,
        grant_type="client_credentials",
        timeout=30,
    )


@pytest.fixture(scope="session")
def identity(keycloak_url: str, provisioning_secret: str) -> KeycloakIdentityAdmin:
    return KeycloakIdentityAdmin(keycloak_url, provisioning_secret)


@pytest.fixture(scope="session")
def keycloak_validator(keycloak_issuer: str) -> TokenValidator:
    """The platform's validator over Keycloak's JWKS, as the API builds it for an issuer."""
    jwks = HttpJwks(f"{keycloak_issuer}/protocol/openid-connect/certs")
    return TokenValidator(keycloak_issuer, JwksCache(jwks))


# -- the demo users of auth/issuer/demo.py, in Keycloak and in the embedded issuer ------------

LOGINS = [login for _spec, login in DEMO_USERS]


def principal_fields(principal: Principal) -> dict[str, Any]:
    """Everything the platform decides with (the subject is each issuer's own id)."""
    return {
        "client": principal.client,
        "username": principal.username,
        "roles": principal.roles,
        "organization": principal.organization,
        "region": principal.region,
        "units": principal.units,
        "profession": principal.profession,
    }


@pytest.fixture(scope="session")
def demo_logins(
    engine: Engine, settings: Settings, identity: KeycloakIdentityAdmin
) -> list[DemoLogin]:
    """The demo users, seeded in both issuers through the same path (as ``make run`` does)."""
    embedded = seed_demo_users(engine, settings)
    in_keycloak = seed_demo_users(engine, settings, identity)
    assert in_keycloak == embedded
    return embedded


@pytest.fixture(scope="session")
def embedded_validator(app: Flask, settings: Settings) -> TokenValidator:
    return TokenValidator(settings.issuer, JwksCache(embedded_issuer(app).jwks))


def embedded_claims(
    client: FlaskClient, validator: TokenValidator, data: dict[str, str]
) -> dict[str, Any]:
    """The validated claims of the embedded issuer's access token for a token request."""
    response = client.post(f"{EMBEDDED_ISSUER_PATH}/protocol/openid-connect/token", data=data)
    assert response.status_code == 200, response.get_json()
    return validator.validate(response.get_json()["access_token"])


def embedded_principal(app: Flask, validator: TokenValidator, login: DemoLogin) -> Principal:
    """The principal of the embedded issuer's password-grant token (kentra-cli) for a user."""
    data = {
        "grant_type": "password",
        "client_id": CLI_CLIENT,
        "username": login.username,
        "password": login.password,
    }
    return Principal.from_claims(embedded_claims(app.test_client(), validator, data))


@dataclass
class TokenEndpoint:
    url: str

    def password(
        self, username: str, password: str, client_id: str = CLI_CLIENT
    ) -> requests.Response:
        return requests.post(
            self.url,
            data={
                "grant_type": "password",
                "client_id": client_id,
                "username": username,
                "password": password,
            },
            timeout=30,
        )

    def client_credentials(self, client_id: str, secret: str) -> requests.Response:
        return requests.post(
            self.url,
            data={"grant_type": "client_credentials", "client_id": client_id},
            auth=(client_id, secret),
            timeout=30,
        )


@pytest.fixture(scope="session")
def token_endpoint(keycloak_issuer: str) -> TokenEndpoint:
    return TokenEndpoint(f"{keycloak_issuer}/protocol/openid-connect/token")


@dataclass
class Scratch:
    """What one test creates in Keycloak, removed afterwards (users first, then organizations
    with their group trees)."""

    kc: KeycloakAdmin
    identity: KeycloakIdentityAdmin
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    codes: list[str] = field(default_factory=list)
    usernames: list[str] = field(default_factory=list)

    def code(self) -> str:
        """A municipality code no real or demo municipality has (99xx), fresh in this run."""
        code = f"99{next(_CODES) % 100:02d}"
        self.codes.append(code)
        return code

    def username(self, stem: str) -> str:
        name = f"kc-test-{stem}-{self.suffix}"
        self.usernames.append(name)
        return name

    def spec(self, stem: str, role: Any, **fields: Any) -> UserSpec:
        username = self.username(stem)
        return UserSpec(
            username=username,
            email=f"{username}@example.invalid",
            role=role,
            first_name="Δοκιμή",
            last_name="Keycloak",
            **fields,
        )

    def cleanup(self) -> None:
        for username in self.usernames:
            user_id = self.kc.get_user_id(username)
            if user_id is not None:
                self.kc.delete_user(user_id)
        for code in self.codes:
            self.identity.remove_organization(code)
            group = _group_or_none(self.kc, f"/m-{code}")
            if group is not None:
                self.kc.delete_group(group["id"])


def _group_or_none(kc: KeycloakAdmin, path: str) -> dict[str, Any] | None:
    from keycloak.exceptions import KeycloakGetError

    try:
        found: dict[str, Any] = kc.get_group_by_path(path)
    except KeycloakGetError as exc:
        if exc.response_code == 404:
            return None
        raise
    return found


@pytest.fixture
def scratch(kc: KeycloakAdmin, identity: KeycloakIdentityAdmin) -> Iterator[Scratch]:
    made = Scratch(kc, identity)
    try:
        yield made
    finally:
        made.cleanup()


def unit(code: str, centre: str = "kk-dokimis", annex: str | None = None) -> UnitPath:
    return UnitPath(code, centre, annex)


# -- an SMTP sink: Keycloak's invitations are real e-mails -----------------------------------


@dataclass
class Mailbox:
    messages: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    def to(self, address: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if address.lower() in (r.lower() for r in m["rcpt"])]


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Keycloak's mail sender: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    mailbox: Mailbox

    def _reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self._reply("220 kentra-test-smtp")
        sender, recipients = "", []
        while raw := self.rfile.readline():
            command = raw.decode(errors="replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in {"EHLO", "HELO"}:
                self._reply("250 kentra-test-smtp")
            elif verb == "MAIL":
                sender, recipients = command[10:].strip("<> "), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command[8:].strip("<> "))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while (line := self.rfile.readline()) not in {b".\r\n", b".\n", b""}:
                    lines.append(line.decode(errors="replace"))
                self.mailbox.messages.append(
                    {"from": sender, "rcpt": list(recipients), "data": "".join(lines)}
                )
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:  # RSET, NOOP and anything else
                self._reply("250 OK")


@pytest.fixture
def mailbox(kc: KeycloakAdmin) -> Iterator[Mailbox]:
    """An SMTP server on loopback, set as the realm's mail server for one test, then unset."""
    box = Mailbox()
    handler = type("Handler", (_SmtpHandler,), {"mailbox": box})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="test-smtp", daemon=True)
    thread.start()
    previous = kc.get_realm(REALM).get("smtpServer") or {}
    kc.update_realm(
        REALM,
        {
            "smtpServer": {
                "host": "127.0.0.1",
                "port": str(box.port),
                "from": "noreply@kentra.invalid",
                "fromDisplayName": "Kentra (test)",
            }
        },
    )
    try:
        yield box
    finally:
        kc.update_realm(REALM, {"smtpServer": previous})
        server.shutdown()
        server.server_close()
