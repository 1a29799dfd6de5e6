"""The issuer's HTML pages: login, logout confirmation, logged out, and errors.

Rendered with their own autoescaping Jinja environment, independent of the host app's
templates. The only style is inline and allowed by its hash in the Content-Security-Policy.
Their texts are the platform's (Greek source, English catalogue): the issuer runs in the same
app, so the visitor's language choice (the cookie the pages set) holds on the login page too.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping
from typing import Any

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from jinja2 import DictLoader, Environment, select_autoescape
from markupsafe import Markup

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1b1f24; }
main { max-width: 26rem; margin: 3rem auto; padding: 2rem; background: #fff;
       border: 1px solid #c9ced6; border-radius: 6px; }
h1 { font-size: 1.6rem; margin-top: 0; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .6rem;
       font-size: 1rem; border: 1px solid #5c6470; border-radius: 4px; margin-top: .3rem; }
input:focus, button:focus { outline: 3px solid #1d5fbf; outline-offset: 2px; }
button { margin-top: 1.5rem; padding: .7rem 1.4rem; font-size: 1rem; color: #fff;
         background: #1d5fbf; border: 0; border-radius: 4px; cursor: pointer; }
.error { border-left: 4px solid #b3261e; background: #fdecea; padding: .8rem; color: #7a1a14; }
.note { font-size: .9rem; color: #4a515c; margin-top: 2rem; }
"""

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()}'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

_LAYOUT = """<!doctype html>
<html lang="{{ language }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ title }} — {{ text.site }}</title>
<style>{{ style }}</style>
</head>
<body>
<main>
<h1>{{ title }}</h1>
{% block content %}{% endblock %}
{% if development %}<p class="note">{{ text.development }}</p>{% endif %}
</main>
</body>
</html>
"""

_LOGIN = """{% extends "layout" %}
{% block content %}
<p>{{ text.login_intro }}</p>
{% if error %}<p id="login-error" class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="{{ action }}">
{% for name, value in fields.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<label for="username">{{ text.username }}</label>
<input id="username" name="username" type="text" value="{{ username }}" required
  autocomplete="username" autocapitalize="none" spellcheck="false"
  {%- if error %} aria-describedby="login-error"{% endif %}
  {%- if invalid %} aria-invalid="true"{% endif %}
  {%- if not username %} autofocus{% endif %}>
<label for="password">{{ text.password }}</label>
<input id="password" name="password" type="password" required autocomplete="current-password"
  {%- if error %} aria-describedby="login-error"{% endif %}
  {%- if invalid %} aria-invalid="true"{% endif %}
  {%- if username %} autofocus{% endif %}>
<button type="submit">{{ text.log_in }}</button>
</form>
{% endblock %}
"""

_LOGOUT = """{% extends "layout" %}
{% block content %}
<p>{{ text.logout_question }}</p>
<form method="post" action="{{ action }}">
{% for name, value in fields.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<button type="submit">{{ text.log_out }}</button>
</form>
{% endblock %}
"""

_MESSAGE = """{% extends "layout" %}
{% block content %}
<p{% if error %} class="error" role="alert"{% endif %}>{{ message }}</p>
{% endblock %}
"""

_TEMPLATES = {"layout": _LAYOUT, "login": _LOGIN, "logout": _LOGOUT, "message": _MESSAGE}


_env = Environment(
    loader=DictLoader(_TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    keep_trailing_newline=True,
)

# Every text the issuer shows, in Greek, translated when the visitor chose English.
LOGIN_TITLE = _l("Σύνδεση")
LOGIN_ERROR_TITLE = _l("Σφάλμα σύνδεσης")
LOGOUT_TITLE = _l("Αποσύνδεση")
LOGGED_OUT = _l("Έχετε αποσυνδεθεί.")
UNKNOWN_CLIENT = _l("Άγνωστη εφαρμογή (client_id).")
BAD_REDIRECT = _l("Μη έγκυρη διεύθυνση επιστροφής (redirect_uri).")
BAD_LOGOUT_REQUEST = _l("Μη έγκυρο αίτημα αποσύνδεσης.")
BAD_ID_TOKEN_HINT = _l("Μη έγκυρο id_token_hint.")
CLIENT_MISMATCH = _l("Το client_id δεν ταιριάζει με το id_token_hint.")
BAD_POST_LOGOUT_REDIRECT = _l(
    "Μη έγκυρη διεύθυνση επιστροφής μετά την αποσύνδεση (post_logout_redirect_uri)."
)
WRONG_CREDENTIALS = _l("Λάθος όνομα χρήστη ή κωδικός πρόσβασης.")
FORM_EXPIRED = _l("Η φόρμα έληξε ή δεν είναι έγκυρη. Συμπληρώστε ξανά τα στοιχεία σας.")
MISSING_CREDENTIALS = _l("Συμπληρώστε το όνομα χρήστη και τον κωδικό πρόσβασης.")
INVALID_CHARACTERS = _l("Το αίτημα περιέχει χαρακτήρες ελέγχου, που δεν επιτρέπονται.")
# The texts of the templates.
TEXT = {
    "site": _l("Κέντρα Κοινότητας"),
    "development": _l(
        "Περιβάλλον ανάπτυξης: ο ενσωματωμένος πάροχος ταυτότητας υποκαθιστά το Keycloak."
    ),
    "login_intro": _l("Συνδεθείτε με τον λογαριασμό σας στην πλατφόρμα των Κέντρων Κοινότητας."),
    "username": _l("Όνομα χρήστη"),
    "password": _l("Κωδικός πρόσβασης"),
    "log_in": _l("Σύνδεση"),
    "logout_question": _l("Θέλετε να αποσυνδεθείτε;"),
    "log_out": _l("Αποσύνδεση"),
}


def too_many_failures(retry_after: int) -> str:
    """The client address is over its limit of failed logins (a 429)."""
    wait = (
        gettext("%(count)s δευτερόλεπτα", count=retry_after)
        if retry_after < 120
        else gettext("%(count)s λεπτά", count=math.ceil(retry_after / 60))
    )
    return str(
        gettext(
            "Πάρα πολλές αποτυχημένες συνδέσεις από τη διεύθυνση δικτύου σας. "
            "Δοκιμάστε ξανά σε %(wait)s.",
            wait=wait,
        )
    )


def _render(template: str, **context: Any) -> str:
    return _env.get_template(template).render(
        style=Markup(STYLE),  # noqa: S704 - a constant of this module
        language=str(get_locale() or "el"),
        text=TEXT,
        **context,
    )


def login_page(
    *,
    action: str,
    fields: Mapping[str, str],
    csrf_token: str,
    username: str = "",
    error: str | None = None,
    invalid: bool = False,
    development: bool = False,
) -> str:
    return _render(
        "login",
        title=LOGIN_TITLE,
        action=action,
        fields=fields,
        csrf_token=csrf_token,
        username=username,
        error=error,
        invalid=invalid,
        development=development,
    )


def logout_page(
    *, action: str, fields: Mapping[str, str], csrf_token: str, development: bool = False
) -> str:
    return _render(
        "logout",
        title=LOGOUT_TITLE,
        action=action,
        fields=fields,
        csrf_token=csrf_token,
        development=development,
    )


def message_page(title: str, message: str, *, error: bool, development: bool = False) -> str:
    return _render(
        "message",
        title=title,
        message=message,
        error=error,
        development=development,
    )
