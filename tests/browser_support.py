"""What the browser tests share: the app on a real port, Debian's Chromium driven by Playwright,
the login through the embedded issuer's page, the axe-core check of every page visited, and
the security headers of every document loaded (with the Content-Security-Policy enforced:
a page the policy breaks shows up as a violation).

Prerequisites come from the project's own files (``make browser``, a prerequisite of
``make test``): Chromium from Debian (``/usr/bin/chromium``), Playwright from PyPI (a dev
extra; its own browser downloads are never used) and axe-core from npm
(``tests/browser/package-lock.json``, installed by ``npm ci``).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Cookie,
    Page,
    expect,
    sync_playwright,
)
from playwright.sync_api import Response as BrowserResponse
from sqlalchemy import Engine, delete, update
from werkzeug.serving import make_server

from kentra.auth.issuer.accounts import hash_password, normalise_username
from kentra.auth.issuer.admin import EmbeddedIdentityAdmin
from kentra.auth.issuer.models import IdentityUser
from kentra.platform.app.factory import create_app
from kentra.platform.core.config import Settings
from tests.security.headers import security_header_problems

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
AXE_SCRIPT = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
# Every page's findings (all impacts) land here, for reading after a run.
AXE_REPORT_DIR = ROOT / "var" / "browser"
# The narrowest screen a page must fit without scrolling sideways (a phone; mobile units work
# from phones and tablets).
NARROW_SCREEN = {"width": 375, "height": 800}
# WCAG 2.1 level AA: the success criteria of 2.0 and those 2.1 added, levels A and AA.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
MISSING_PREREQUISITES = (
    "the browser tests need Debian's Chromium and axe-core: run `make browser` "
    "(a prerequisite of `make test`)"
)


@dataclass(frozen=True)
class LiveApp:
    base_url: str
    app: Flask


@contextmanager
def live_app(port: int = 0, jwks: Any = None, **settings: Any) -> Iterator[LiveApp]:
    """The whole app served on ``port`` (0: a free one); its base URL (and so the embedded
    issuer's) follows the port. ``settings`` change the environment's Settings (e.g.
    ``oidc_issuer``: another issuer); ``jwks``: the keys it trusts instead of its issuer's
    (the test tokens' of tests/tokens.py)."""
    holder: dict[str, Any] = {}

    def serve(environ: Any, start_response: Any) -> Any:
        # The app is created after the server: its base URL needs the port the server got.
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", port, serve, threaded=True)
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        holder["app"] = create_app(
            replace(Settings.from_env(), base_url=base, **settings), jwks=jwks
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield LiveApp(base, holder["app"])
        finally:
            server.shutdown()
            holder["app"].extensions["kentra"].engine.dispose()
    finally:
        server.server_close()


@contextmanager
def live_server() -> Iterator[str]:
    """The whole app with the embedded issuer, served on a free port. Yields the base URL."""
    with live_app() as live:
        yield live.base_url


def check_prerequisites() -> None:
    """Fail (never skip) with the way to install what is missing."""
    missing = [str(p) for p in (CHROMIUM, AXE_SCRIPT) if not p.exists()]
    if missing:
        raise RuntimeError(f"{MISSING_PREREQUISITES}; missing: {', '.join(missing)}")


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (its own downloads never used)."""
    check_prerequisites()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


# -- the app's session as the browser holds it --------------------------------------------


def session_cookie(context: BrowserContext, app: Flask) -> Cookie | None:
    """The app's session cookie in the browser profile, if it has one."""
    name = app.config["SESSION_COOKIE_NAME"]
    base = app.extensions["kentra"].settings.base_url
    return next((c for c in context.cookies(base) if c["name"] == name), None)


def cookie_size(cookie: Cookie) -> int:
    """Bytes of ``name=value``: what browsers hold to 4096 per cookie."""
    return len(f"{cookie['name']}={cookie['value']}".encode())


def _session_serializer(app: Flask) -> URLSafeTimedSerializer:
    interface = app.session_interface
    assert isinstance(interface, SecureCookieSessionInterface), "not Flask's cookie session"
    serializer = interface.get_signing_serializer(app)
    assert serializer is not None, "the app has no secret key"
    return serializer


def read_session(context: BrowserContext, app: Flask) -> dict[str, Any]:
    """The app's session in the browser, read with the app's own serializer (empty if none)."""
    cookie = session_cookie(context, app)
    if cookie is None:
        return {}
    data: dict[str, Any] = _session_serializer(app).loads(cookie["value"])
    return data


def write_session(context: BrowserContext, app: Flask, data: dict[str, Any]) -> None:
    """Replace the browser's session cookie with ``data``, signed by the app's own serializer
    (as the app would write it): a test's way to age what the session holds."""
    cookie = session_cookie(context, app)
    assert cookie is not None, "no session cookie to replace"
    context.add_cookies(
        [
            {
                "name": cookie["name"],
                "value": _session_serializer(app).dumps(data),
                "domain": cookie["domain"],
                "path": cookie["path"],
                "httpOnly": cookie["httpOnly"],
                "secure": cookie["secure"],
                "sameSite": cookie["sameSite"],
            }
        ]
    )


@dataclass
class HeaderWatch:
    """The documents a browser profile loaded (redirects included) and the policy violations
    its console reported; :meth:`problems` reads the headers of those not read yet."""

    documents: list[BrowserResponse] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def on_response(self, response: BrowserResponse) -> None:
        if response.request.resource_type == "document":
            self.documents.append(response)  # read later: no round trip inside the event

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def problems(self) -> list[str]:
        found = [f"CSP violation: {text}" for text in self.violations]
        while self.documents:
            response = self.documents.pop(0)
            secure = response.url.startswith("https:")
            headers = response.all_headers()
            found += [
                f"{_path(response.url)}: {problem}"
                for problem in security_header_problems(headers, secure=secure)
            ]
            self.checked.append(response.url)
        return found


_watches: dict[int, HeaderWatch] = {}


def header_watch(context: BrowserContext) -> HeaderWatch | None:
    return _watches.get(id(context))


def assert_security_headers(context: BrowserContext) -> None:
    """Every document the profile loaded so far had the security headers, and the browser
    reported no Content-Security-Policy violation."""
    watch = header_watch(context)
    assert watch is not None, "not a context of new_context()"
    problems = watch.problems()
    assert not problems, "security headers:\n" + "\n".join(problems)


def new_context(browser: Browser, base_url: str) -> BrowserContext:
    """A fresh browser profile (its own cookies: one person), in Greek, with a base URL.

    The pages' Content-Security-Policy is enforced: axe-core comes in as an init script (the
    browser's own injection, which no page policy governs), not as a script tag the policy
    would refuse. The security headers of every document are read (:class:`HeaderWatch`)."""
    context = browser.new_context(base_url=base_url, locale="el-GR")
    context.set_default_timeout(15_000)
    context.add_init_script(path=str(AXE_SCRIPT))
    watch = HeaderWatch()
    _watches[id(context)] = watch
    context.on("response", watch.on_response)
    context.on("console", watch.on_console)
    context.on("close", lambda _context: _watches.pop(id(context), None))
    return context


@dataclass
class Finding:
    page: str
    rule: str
    impact: str | None
    help: str
    targets: list[str]

    def line(self) -> str:
        return f"{self.page}: {self.rule} ({self.impact}) {self.help} at {', '.join(self.targets)}"


@dataclass
class AxeAudit:
    """Runs axe-core on pages and keeps what it found; a serious or critical violation fails
    the test at once, naming the page, the rule and the elements."""

    name: str
    pages: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    # Seconds since the start at which each page was checked (where a journey spends its time).
    times: list[float] = field(default_factory=list)

    def check(self, page: Page, label: str | None = None, status: int | None = 200) -> None:
        """Check the page the browser shows, after asserting the HTTP status it came with
        (so a missing page reads as a 404, not as the error page's accessibility); ``None``
        for content set without a request."""
        where = label or _path(page.url)
        page.wait_for_load_state("load")
        if status is not None:
            assert navigation_status(page) == status, (
                f"{where}: {_path(page.url)} answered {navigation_status(page)}, not {status}"
            )
        if page.evaluate("typeof window.axe === 'undefined'"):
            page.add_script_tag(path=str(AXE_SCRIPT))  # a page of no new_context()
        if status is not None and (watch := header_watch(page.context)) is not None:
            problems = watch.problems()
            assert page.url in watch.checked, f"{where}: the page's headers were not read"
            assert not problems, f"{where}: security headers\n" + "\n".join(problems)
        result = page.evaluate(
            """async (tags) => {
                const r = await axe.run(document, {
                    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
                return r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    targets: v.nodes.map(n => n.target.join(" "))}));
            }""",
            list(AXE_TAGS),
        )
        found = [
            Finding(where, v["id"], v["impact"], v["help"], [str(t) for t in v["targets"]])
            for v in result
        ]
        self.pages.append(where)
        self.times.append(round(time.monotonic() - self.started, 2))
        self.findings.extend(found)
        self.write()
        blocking = [f for f in found if f.impact in BLOCKING_IMPACTS]
        assert not blocking, "axe-core: serious or critical violations\n" + "\n".join(
            f.line() for f in blocking
        )
        overflow = sideways_scroll(page)
        assert overflow <= 0, f"{where}: scrolls sideways by {overflow} px on a 375 px screen"

    def write(self) -> None:
        AXE_REPORT_DIR.mkdir(parents=True, exist_ok=True)
        report = {
            "pages": [
                {"page": p, "at_seconds": t} for p, t in zip(self.pages, self.times, strict=True)
            ],
            "findings": [f.__dict__ for f in self.findings],
        }
        (AXE_REPORT_DIR / f"axe-{self.name}.json").write_text(
            json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
        )


def sideways_scroll(page: Page) -> int:
    """How far the page scrolls sideways on a 375 px wide screen (0: it fits); the viewport
    is put back afterwards."""
    before = page.viewport_size
    page.set_viewport_size(NARROW_SCREEN)
    try:
        return int(
            page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
        )
    finally:
        if before is not None:
            page.set_viewport_size(before)


def navigation_status(page: Page) -> int:
    """The HTTP status of the document the page shows (Navigation Timing, after redirects)."""
    status = page.evaluate("performance.getEntriesByType('navigation')[0].responseStatus")
    return int(status)


def log_in(page: Page, audit: AxeAudit, username: str, password: str, next_path: str) -> None:
    """Sign in through the embedded issuer's login page, as a person would, and land on
    ``next_path``."""
    page.goto(f"/auth/login?next={next_path}")
    expect(page.get_by_label("Όνομα χρήστη")).to_be_visible()
    audit.check(page, "issuer login page")
    page.get_by_label("Όνομα χρήστη").fill(username)
    page.get_by_label("Κωδικός πρόσβασης").fill(password)
    page.get_by_role("button", name="Σύνδεση").click()
    page.wait_for_url(re.compile(re.escape(next_path.split("?", maxsplit=1)[0]) + r"(\?.*)?$"))


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Αποσύνδεση").click()
    expect(page.get_by_role("button", name="Αποσύνδεση")).to_have_count(0)


def set_invited_password(engine: Engine, username: str, password: str) -> None:
    """The one shortcut of the browser tests: give an invited user (created by the platform
    without a password) a password directly in the embedded issuer's storage. In production
    Keycloak e-mails the invited person a link to choose one; the embedded issuer sends no
    e-mail. Nothing else about the user (roles, organization, groups) is touched."""
    with engine.begin() as conn:
        changed = conn.execute(
            update(IdentityUser)
            .where(IdentityUser.username == normalise_username(username))
            .where(IdentityUser.password_hash.is_(None))  # still an invitation
            .values(password_hash=hash_password(password))
        ).rowcount
    assert changed == 1, f"no invited user {username!r} waiting for a password"


def remove_users(engine: Engine, *usernames: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(IdentityUser).where(
                IdentityUser.username.in_([normalise_username(u) for u in usernames])
            )
        )


def remove_organization(engine: Engine, municipality_code: str) -> None:
    EmbeddedIdentityAdmin(engine).remove_organization(municipality_code)


def minimal_pdf() -> bytes:
    """A small, well-formed one-page PDF (a valid header, objects, xref table and trailer)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url) or "/"
