"""The issuer's HTML pages (Greek): login, logout confirmation, logged out, and errors.

Rendered with their own autoescaping Jinja environment, independent of the host app's
templates. The only style is inline and allowed by its hash in the Content-Security-Policy.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping

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
<html lang="el">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ title }} — Κέντρα Κοινότητας</title>
<style>{{ style }}</style>
</head>
<body>
<main>
<h1>{{ title }}</h1>
{% block content %}{% endblock %}
{% if development %}<p class="note">Περιβάλλον ανάπτυξης: ο ενσωματωμένος πάροχος ταυτότητας
υποκαθιστά το Keycloak.</p>{% endif %}
</main>
</body>
</html>
"""

_LOGIN = """{% extends "layout" %}
{% block content %}
<p>Συνδεθείτε με τον λογαριασμό σας στην πλατφόρμα των Κέντρων Κοινότητας.</p>
{% if error %}<p id="login-error" class="error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="{{ action }}">
{% for name, value in fields.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<label for="username">Όνομα χρήστη</label>
<input id="username" name="username" type="text" value="{{ username }}" required
  autocomplete="username" autocapitalize="none" spellcheck="false"
  {%- if error %} aria-describedby="login-error"{% endif %}
  {%- if invalid %} aria-invalid="true"{% endif %}
  {%- if not username %} autofocus{% endif %}>
<label for="password">Κωδικός πρόσβασης</label>
<input id="password" name="password" type="password" required autocomplete="current-password"
  {%- if error %} aria-describedby="login-error"{% endif %}
  {%- if invalid %} aria-invalid="true"{% endif %}
  {%- if username %} autofocus{% endif %}>
<button type="submit">Σύνδεση</button>
</form>
{% endblock %}
"""

_LOGOUT = """{% extends "layout" %}
{% block content %}
<p>Θέλετε να αποσυνδεθείτε;</p>
<form method="post" action="{{ action }}">
{% for name, value in fields.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">
{% endfor %}<input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<button type="submit">Αποσύνδεση</button>
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

# Every text the issuer shows, in Greek.
LOGIN_TITLE = "Σύνδεση"
LOGIN_ERROR_TITLE = "Σφάλμα σύνδεσης"
LOGOUT_TITLE = "Αποσύνδεση"
LOGGED_OUT = "Έχετε αποσυνδεθεί."
UNKNOWN_CLIENT = "Άγνωστη εφαρμογή (client_id)."
BAD_REDIRECT = "Μη έγκυρη διεύθυνση επιστροφής (redirect_uri)."
BAD_LOGOUT_REQUEST = "Μη έγκυρο αίτημα αποσύνδεσης."
BAD_ID_TOKEN_HINT = "Μη έγκυρο id_token_hint."  # noqa: S105 - a message
CLIENT_MISMATCH = "Το client_id δεν ταιριάζει με το id_token_hint."
BAD_POST_LOGOUT_REDIRECT = (
    "Μη έγκυρη διεύθυνση επιστροφής μετά την αποσύνδεση (post_logout_redirect_uri)."
)
WRONG_CREDENTIALS = "Λάθος όνομα χρήστη ή κωδικός πρόσβασης."
FORM_EXPIRED = "Η φόρμα έληξε ή δεν είναι έγκυρη. Συμπληρώστε ξανά τα στοιχεία σας."
MISSING_CREDENTIALS = "Συμπληρώστε το όνομα χρήστη και τον κωδικό πρόσβασης."
INVALID_CHARACTERS = "Το αίτημα περιέχει χαρακτήρες ελέγχου, που δεν επιτρέπονται."


def too_many_failures(retry_after: int) -> str:
    """The client address is over its limit of failed logins (a 429)."""
    wait = (
        f"{retry_after} δευτερόλεπτα"
        if retry_after < 120
        else f"{math.ceil(retry_after / 60)} λεπτά"
    )
    return (
        "Πάρα πολλές αποτυχημένες συνδέσεις από τη διεύθυνση δικτύου σας. "
        f"Δοκιμάστε ξανά σε {wait}."
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
    return _env.get_template("login").render(
        title=LOGIN_TITLE,
        style=Markup(STYLE),  # noqa: S704 - a constant of this module
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
    return _env.get_template("logout").render(
        title=LOGOUT_TITLE,
        style=Markup(STYLE),  # noqa: S704 - a constant of this module
        action=action,
        fields=fields,
        csrf_token=csrf_token,
        development=development,
    )


def message_page(title: str, message: str, *, error: bool, development: bool = False) -> str:
    return _env.get_template("message").render(
        title=title,
        style=Markup(STYLE),  # noqa: S704 - a constant of this module
        message=message,
        error=error,
        development=development,
    )
