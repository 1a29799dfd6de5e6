"""Hostile input at the embedded issuer's own forms (issue 10, finding 2): a control character
in a username, a password, a refresh token or a code was a 500 (the value reached the throttle's
and the grants' queries). Each is refused before any of them runs: the token endpoint with
RFC 6749's ``invalid_request``, the login and logout forms with a 400 page."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from kentra.auth.claims import CLI_CLIENT, WEB_CLIENT
from kentra.platform.core.config import EMBEDDED_ISSUER_PATH

OIDC = EMBEDDED_ISSUER_PATH + "/protocol/openid-connect"
HOSTILE = ["a\x00b", "a\x1bb", "a\nb", "\x85"]
GRANTS = {
    "password": {"client_id": CLI_CLIENT, "username": "staff-4501", "password": "demo-staff"},
    "refresh_token": {"client_id": CLI_CLIENT, "refresh_token": "x" * 40},
    "authorization_code": {
        "client_id": WEB_CLIENT,
        "code": "x" * 40,
        "redirect_uri": "http://127.0.0.1:5000/auth/callback",
        "code_verifier": "v" * 43,
    },
}


@pytest.mark.parametrize("value", HOSTILE, ids=["NUL", "ESC", "LF", "NEL"])
@pytest.mark.parametrize("grant", GRANTS)
def test_a_control_character_in_any_token_parameter_is_invalid_request(
    client: FlaskClient, grant: str, value: str
) -> None:
    form = {"grant_type": grant, **GRANTS[grant]}
    for name in form:
        response = client.post(f"{OIDC}/token", data={**form, name: value})
        assert response.status_code == 400, (name, response.get_data(as_text=True))
        assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("field", ["username", "password", "csrf_token", "client_id"])
def test_a_control_character_in_the_login_form_is_a_400_page(
    client: FlaskClient, field: str
) -> None:
    form = {"username": "staff-4501", "password": "demo-staff", "csrf_token": "x", field: "a\x00b"}
    response = client.post(f"{OIDC}/auth", data=form)
    assert response.status_code == 400
    assert "χαρακτήρες ελέγχου" in response.get_data(as_text=True)


def test_a_control_character_in_the_logout_form_is_a_400_page(client: FlaskClient) -> None:
    response = client.post(f"{OIDC}/logout", data={"client_id": "a\x00b"})
    assert response.status_code == 400
