"""The whole onboarding journey in a real browser: Debian's Chromium, headless, driven by
Playwright, against the app served on a real port (its embedded OIDC issuer works over HTTP).

signup → approval → centre → annex → mobile unit → staff → compliance → regulation
submission → ministry acknowledgement, through the web pages alone: forms are filled by their
labels and buttons pressed by their names, and every page visited is checked with axe-core
(WCAG 2.1 A and AA rules) with no serious or critical violation allowed. Every document the
browser loads (redirects included) is read for the security headers of issue 10 §5, with the
Content-Security-Policy enforced and no violation of it reported by the browser.

People: the municipality's representative (anonymous), a ministry officer (created here with a
known password: reviewers are not invited through the platform), the first municipality admin
(invited by the approval) and the head of the centre (invited from the staff roster).

**The single shortcut.** An invited user has no password: in production Keycloak e-mails a link
to choose one, and the embedded issuer sends no e-mail. The test sets the password of such an
invited user directly in the embedded issuer's storage (``set_invited_password``: only the
password hash, only for a user still waiting for one) and then logs in through the real login
page. Nothing else is done behind the pages' back.

Municipalities (from ``../shared/data/municipalities.csv``): 7105 Δήμος Μαλεβιζίου (25,734
residents: a centre of its own, a band of two staff) signs up; its mobile unit serves 7103
Δήμος Βιάννου (4,436 residents, too small for a centre, not on the platform). Everything the
journey creates is removed afterwards. Prerequisites: ``make browser`` (part of ``make test``).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
from sqlalchemy import Engine, delete, func, select

from kentra.auth.identity import UserSpec
from kentra.auth.issuer.admin import EmbeddedIdentityAdmin
from kentra.auth.roles import Role
from kentra.platform.compliance.models import CentreCompliance
from kentra.platform.onboarding.models import OnboardingRequest
from kentra.platform.regulations.models import RegulationSubmission
from kentra.tenants.codes import parse_municipality_code
from tests.browser_support import (
    CHROMIUM,
    AxeAudit,
    assert_security_headers,
    check_prerequisites,
    header_watch,
    live_server,
    log_in,
    log_out,
    minimal_pdf,
    new_context,
    remove_organization,
    remove_users,
    set_invited_password,
)
from tests.conftest import drop_tenant

PASSWORD = "journey-password-1"
CENTRE_CODE = "7105"  # Δήμος Μαλεβιζίου, 25,734 residents
CENTRE_MUNICIPALITY = "Δήμος Μαλεβιζίου"
SMALL_CODE = "7103"  # Δήμος Βιάννου, 4,436 residents, no tenant
SMALL_MUNICIPALITY = "Δήμος Βιάννου"
INVALID_CODE = "7202"  # Δήμος Ιεράπετρας: the refused signup (nothing is recorded)
CENTRE_NAME = "Κέντρο Κοινότητας Δήμου Μαλεβιζίου"
ANNEX_NAME = "Παράρτημα Ρομά Τυλίσου"
MOBILE_NAME = "Κινητή Μονάδα Βιάννου"
HEAD_NAME = "Μαρία Κωνσταντάκη"
PSYCHOLOGIST_NAME = "Γιώργος Σπυριδάκης"
VALID_VAT = "090000045"
INVALID_VAT = "123456789"  # wrong check digit
TODAY = datetime.now(ZoneInfo("Europe/Athens")).date().isoformat()


@pytest.fixture(scope="module")
def live(engine: Engine) -> Iterator[str]:
    with live_server() as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    check_prerequisites()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def people(engine: Engine) -> Iterator[list[str]]:
    """Usernames the test creates or causes; they are removed afterwards."""
    usernames: list[str] = []
    yield usernames
    remove_users(engine, *usernames)


@pytest.fixture
def journey_cleanup(engine: Engine) -> Iterator[None]:
    """The signup's municipality leaves no trace: tenant, organization, shared rows."""
    yield
    with engine.begin() as conn:
        for model in (CentreCompliance, RegulationSubmission, OnboardingRequest):
            conn.execute(delete(model).where(model.municipality_code == CENTRE_CODE))
    remove_organization(engine, CENTRE_CODE)
    drop_tenant(engine, parse_municipality_code(CENTRE_CODE))


def _ministry_officer(engine: Engine, people: list[str]) -> str:
    username = f"journey-ministry-{uuid.uuid4().hex[:8]}"
    people.append(username)
    EmbeddedIdentityAdmin(engine).ensure_user(
        UserSpec(
            username=username,
            email=f"{username}@example.gr",
            role=Role.MINISTRY_OFFICER,
            password=PASSWORD,
        )
    )
    return username


def _heading(page: Page, text: str | re.Pattern[str]) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def _follow(page: Page, link: Locator) -> None:
    """Click a link and wait until the browser shows the page it leads to."""
    href = link.get_attribute("href")
    assert href is not None
    link.click()
    page.wait_for_url(re.compile(re.escape(href) + "$"))


def _primary(page: Page, name: str) -> None:
    """Follow a link of the layout's primary navigation."""
    navigation = page.get_by_role("navigation", name="Κύρια πλοήγηση")
    _follow(page, navigation.get_by_role("link", name=name, exact=True))


def _section(page: Page, name: str) -> None:
    """Follow a link of the municipality's sections."""
    navigation = page.get_by_role("navigation", name="Ενότητες του Δήμου")
    _follow(page, navigation.get_by_role("link", name=name, exact=True))


def _new_unit_form(page: Page, audit: AxeAudit, link: str, label: str) -> None:
    """From the units section, the form behind ``link`` (its heading the link's name)."""
    _section(page, "Κέντρο και μονάδες")
    _follow(page, page.get_by_role("link", name=link))
    _heading(page, link)
    audit.check(page, label)


def _saved(page: Page, audit: AxeAudit, heading: str, status: str, label: str) -> None:
    """After a save: the saved object's page, with ``status`` said."""
    _heading(page, heading)
    expect(page.get_by_role("status")).to_contain_text(status)
    audit.check(page, label)


def _reload_until(page: Page, shown: Callable[[], bool], seconds: float = 20) -> None:
    """Reload ``page`` until ``shown()``: for what the worker writes after a commit (each
    commit is recomputed in turn, so the page may first show an earlier state)."""
    deadline = time.monotonic() + seconds
    while not shown() and time.monotonic() < deadline:
        time.sleep(0.25)
        page.reload()


def _fill_signup(page: Page, municipality_code: str, vat: str, email: str) -> None:
    page.get_by_role("combobox", name=re.compile(r"^Δήμος")).select_option(municipality_code)
    page.get_by_label("Ο ίδιος ο Δήμος").check()
    page.get_by_label("Επωνυμία του φορέα").fill("Δήμος Μαλεβιζίου")
    page.get_by_label("ΑΦΜ του φορέα").fill(vat)
    page.get_by_label("Ονοματεπώνυμο").fill("Ελένη Παπαδάκη")
    page.get_by_label("Διεύθυνση e-mail").fill(email)
    page.get_by_label("Τηλέφωνο").fill("2810123456")
    page.get_by_role("group", name=re.compile("Κοινωνική Υπηρεσία")).get_by_label("Ναι").check()


def test_the_accessibility_check_fails_on_a_serious_violation(browser: Browser) -> None:
    """The check itself: a form field without a label is a critical violation."""
    page = browser.new_page()
    try:
        page.set_content(
            '<!doctype html><html lang="el"><head><title>t</title></head><body><main>'
            '<h1>t</h1><input type="text" name="x"></main></body></html>'
        )
        with pytest.raises(AssertionError, match=r"label \(critical\)"):
            AxeAudit("self-test").check(page, "unlabelled field", status=None)
    finally:
        page.close()


def test_the_signup_form_keeps_the_typed_values_and_explains_an_invalid_vat(
    live: str, browser: Browser, engine: Engine
) -> None:
    audit = AxeAudit("signup-invalid-vat")
    context = new_context(browser, live)
    try:
        page = context.new_page()
        page.goto("/onboarding")
        _heading(page, "Αίτηση ένταξης Δήμου")
        audit.check(page, "signup form")
        email = "refused@example.gr"
        _fill_signup(page, INVALID_CODE, INVALID_VAT, email)
        with page.expect_response(re.compile(r"/onboarding$")) as answer:
            page.get_by_role("button", name="Υποβολή αίτησης").click()
        assert answer.value.status == 422
        expect(page).to_have_title(re.compile(r"^Σφάλμα"))
        summary = page.get_by_role("alert")
        expect(summary).to_be_visible()
        expect(summary.get_by_role("link", name=re.compile("ΑΦΜ του φορέα"))).to_be_visible()
        vat = page.get_by_label("ΑΦΜ του φορέα")
        expect(vat).to_have_attribute("aria-invalid", "true")
        # Nothing typed is lost.
        expect(vat).to_have_value(INVALID_VAT)
        expect(page.get_by_role("combobox", name=re.compile(r"^Δήμος"))).to_have_value(INVALID_CODE)
        expect(page.get_by_label("Ο ίδιος ο Δήμος")).to_be_checked()
        expect(page.get_by_label("Επωνυμία του φορέα")).to_have_value("Δήμος Μαλεβιζίου")
        expect(page.get_by_label("Ονοματεπώνυμο")).to_have_value("Ελένη Παπαδάκη")
        expect(page.get_by_label("Διεύθυνση e-mail")).to_have_value(email)
        expect(page.get_by_label("Τηλέφωνο")).to_have_value("2810123456")
        social_service = page.get_by_role("group", name=re.compile("Κοινωνική Υπηρεσία"))
        expect(social_service.get_by_label("Ναι")).to_be_checked()
        audit.check(page, "signup form, refused (invalid ΑΦΜ)", status=422)
        # The summary's link takes the keyboard to the field.
        summary.get_by_role("link", name=re.compile("ΑΦΜ του φορέα")).click()
        expect(vat).to_be_focused()
        assert_security_headers(context)
    finally:
        context.close()
    with engine.connect() as conn:
        waiting = conn.scalar(
            select(func.count())
            .select_from(OnboardingRequest)
            .where(OnboardingRequest.municipality_code == INVALID_CODE)
        )
    assert waiting == 0


def test_a_municipality_goes_from_signup_to_an_acknowledged_regulation(
    live: str,
    browser: Browser,
    engine: Engine,
    people: list[str],
    journey_cleanup: None,
    worker: object,  # the compliance recompute runs there
) -> None:
    audit = AxeAudit("journey")
    run = uuid.uuid4().hex[:8]
    admin_email = f"journey-admin-{run}@example.gr"
    head_email = f"journey-head-{run}@example.gr"
    psychologist_email = f"journey-staff-{run}@example.gr"
    people.extend([admin_email, head_email])
    officer = _ministry_officer(engine, people)
    contexts = []

    def person() -> Page:
        context = new_context(browser, live)
        contexts.append(context)
        return context.new_page()

    try:
        # 1. Signup, by the municipality's representative (no account).
        representative = person()
        representative.goto("/onboarding")
        _heading(representative, "Αίτηση ένταξης Δήμου")
        audit.check(representative, "signup form")
        _fill_signup(representative, CENTRE_CODE, VALID_VAT, admin_email)
        representative.get_by_role("button", name="Υποβολή αίτησης").click()
        representative.wait_for_url("**/onboarding/sent")
        _heading(representative, "Το αίτημα καταχωρίστηκε")
        audit.check(representative, "signup sent")

        # 2. Approval, by a ministry officer: the tenant, its organization and the invitation.
        ministry = person()
        log_in(ministry, audit, officer, PASSWORD, "/")
        _primary(ministry, "Αιτήσεις ένταξης")
        _heading(ministry, "Αιτήσεις ένταξης")
        row = ministry.get_by_role("row", name=re.compile(CENTRE_MUNICIPALITY))
        expect(row).to_contain_text("Περιμένει απόφαση")
        audit.check(ministry, "onboarding requests")
        _follow(ministry, row.get_by_role("link", name=re.compile(CENTRE_MUNICIPALITY)))
        _heading(ministry, f"Αίτηση ένταξης: {CENTRE_MUNICIPALITY}")
        expect(ministry.get_by_text(VALID_VAT)).to_be_visible()
        expect(ministry.get_by_text(admin_email)).to_be_visible()
        audit.check(ministry, "onboarding request")
        ministry.get_by_role("button", name="Έγκριση αίτησης").click()
        expect(ministry.get_by_role("status")).to_contain_text("Η αίτηση εγκρίθηκε")
        expect(ministry.get_by_role("button", name="Έγκριση αίτησης")).to_have_count(0)
        audit.check(ministry, "onboarding request, approved")

        # 3. The first municipality admin accepts the invitation (the shortcut) and logs in.
        set_invited_password(engine, admin_email, PASSWORD)
        admin = person()
        log_in(admin, audit, admin_email, PASSWORD, "/")
        _primary(admin, "Ο Δήμος μου")
        _heading(admin, CENTRE_MUNICIPALITY)
        audit.check(admin, "municipality overview")

        # 4. The centre, with the premises checklist (every space accessible).
        _section(admin, "Κέντρο και μονάδες")
        _heading(admin, "Κέντρο και μονάδες")
        audit.check(admin, "units, none yet")
        _follow(admin, admin.get_by_role("link", name="Καταχώριση του Κέντρου Κοινότητας"))
        _heading(admin, "Καταχώριση του Κέντρου Κοινότητας")
        audit.check(admin, "new centre form")
        admin.get_by_label("Ονομασία").fill(CENTRE_NAME)
        admin.get_by_label("Διεύθυνση (οδός και αριθμός)").fill("Πλατεία Δημαρχείου 1, Γάζι")
        admin.get_by_label("Ταχυδρομικός κώδικας").fill("71414")
        admin.get_by_label("Ημερομηνία έναρξης λειτουργίας").fill(TODAY)
        admin.get_by_role("checkbox", name="Μετανάστες").check()
        admin.get_by_role("checkbox", name="Ηλικιωμένοι").check()
        admin.get_by_label("Ο ίδιος ο Δήμος").check()
        admin.get_by_label("Επωνυμία του φορέα").fill(CENTRE_MUNICIPALITY)
        admin.get_by_label("ΑΦΜ του φορέα").fill(VALID_VAT)
        premises = admin.get_by_role("group", name="Στέγαση: ο χώρος του Κέντρου")
        for box in premises.get_by_role("checkbox").all():
            box.check()
        admin.get_by_role("button", name="Καταχώριση του Κέντρου").click()
        admin.wait_for_url(re.compile(rf"/municipalities/{CENTRE_CODE}/units/\d+$"))
        _saved(admin, audit, CENTRE_NAME, "Το Κέντρο Κοινότητας καταχωρίστηκε", "centre")

        # 5. An annex of the centre.
        _new_unit_form(admin, audit, "Νέο Παράρτημα", "new annex form")
        admin.get_by_label("Ονομασία").fill(ANNEX_NAME)
        admin.get_by_role("radio", name="Ρομά", exact=True).check()
        admin.get_by_label("Διεύθυνση (οδός και αριθμός)").fill("Οδός Ανωγείων 10, Τύλισος")
        admin.get_by_label("Ταχυδρομικός κώδικας").fill("71500")
        admin.get_by_role("button", name="Προσθήκη").click()
        _saved(admin, audit, ANNEX_NAME, "Το Παράρτημα προστέθηκε", "annex")

        # 6. A mobile unit serving a small municipality without a centre.
        _new_unit_form(admin, audit, "Νέα Κινητή Μονάδα", "new mobile unit form")
        admin.get_by_label("Ονομασία").fill(MOBILE_NAME)
        # The served municipalities: a list to type in (Tom Select, from the platform).
        served = admin.get_by_role("combobox", name="Δήμοι που εξυπηρετεί")
        served.fill(SMALL_MUNICIPALITY.removeprefix("Δήμος ")[:5])
        admin.locator(".ts-dropdown").get_by_role("option", name=SMALL_MUNICIPALITY).click()
        expect(admin.locator("#served_municipalities")).to_have_values([SMALL_CODE])
        audit.check(admin, "new mobile unit form, a municipality chosen")
        admin.get_by_role("button", name="Προσθήκη").click()
        _saved(admin, audit, MOBILE_NAME, "Η Κινητή Μονάδα προστέθηκε", "mobile unit")
        _section(admin, "Κέντρο και μονάδες")
        expect(admin.get_by_role("row", name=re.compile(ANNEX_NAME))).to_contain_text("Ρομά")
        expect(admin.get_by_role("row", name=re.compile(MOBILE_NAME))).to_contain_text(
            SMALL_MUNICIPALITY
        )
        audit.check(admin, "units, with the annex and the mobile unit")

        # 7. Staff: a social worker heading the centre (invited), and a psychologist: the
        #    band of 10,000-40,000 residents asks for two.
        for full_name, email, profile, is_head in (
            (HEAD_NAME, head_email, "Κοινωνικός Λειτουργός", True),
            (PSYCHOLOGIST_NAME, psychologist_email, "Ψυχολόγος / Σχολικός Ψυχολόγος", False),
        ):
            _section(admin, "Προσωπικό")
            _follow(admin, admin.get_by_role("link", name="Προσθήκη μέλους προσωπικού"))
            audit.check(admin, "new staff member form")
            admin.get_by_label("Ονοματεπώνυμο").fill(full_name)
            admin.get_by_label("Διεύθυνση e-mail").fill(email)
            admin.get_by_label("Μονάδα").select_option(label=f"{CENTRE_NAME} (Κέντρο)")
            admin.get_by_label("Επαγγελματικό προφίλ").select_option(label=profile)
            admin.get_by_label("Ημερομηνία έναρξης").fill(TODAY)
            admin.get_by_label("Ποσοστό απασχόλησης (FTE)").fill("1")
            if is_head:
                admin.get_by_label("Υπεύθυνος/η του Κέντρου").check()
            admin.get_by_role("button", name="Προσθήκη μέλους").click()
            admin.wait_for_url(re.compile(rf"/municipalities/{CENTRE_CODE}/staff/\d+$"))
            expect(admin.get_by_role("status")).to_contain_text("Το μέλος προστέθηκε")
            audit.check(admin, "staff member")
            if is_head:
                admin.get_by_role("button", name="Αποστολή πρόσκλησης").click()
                expect(admin.get_by_role("status")).to_contain_text("Η πρόσκληση στάλθηκε")
                audit.check(admin, "staff member, invited")
        _section(admin, "Προσωπικό")
        expect(admin.get_by_role("row", name=re.compile(HEAD_NAME))).to_be_visible()
        expect(admin.get_by_role("row", name=re.compile(PSYCHOLOGIST_NAME))).to_be_visible()
        audit.check(admin, "staff roster")

        # 8. Compliance, computed by the worker once the changes committed (ADR 0035): the
        #    page shows it as soon as it is there.
        _section(admin, "Συμμόρφωση")
        centre = admin.get_by_role("region", name=CENTRE_NAME)
        unmet = centre.get_by_role("listitem")
        # The staff were added one by one: the page may first show the state between them.
        _reload_until(admin, lambda: unmet.count() == 1)
        expect(centre).to_contain_text("Δεν συμμορφώνεται")
        expect(unmet).to_have_count(1)
        expect(centre.get_by_role("listitem")).to_contain_text("Κανονισμός Λειτουργίας")
        audit.check(admin, "compliance, before the regulation")

        # 9. The operating regulation: uploaded by the admin, approved by the centre head
        #    (invited from the roster: the shortcut again), submitted to the ministry.
        _section(admin, "Κανονισμός λειτουργίας")
        audit.check(admin, "regulations, none yet")
        _follow(admin, admin.get_by_role("link", name="Ανάρτηση νέας έκδοσης"))
        audit.check(admin, "new regulation form")
        admin.get_by_label("Κέντρο").select_option(label=CENTRE_NAME)
        admin.get_by_label("Ημερομηνία έναρξης ισχύος").fill(TODAY)
        admin.get_by_label("Περίληψη της αλλαγής").fill("Αρχικός κανονισμός λειτουργίας.")
        admin.get_by_label("Αρχείο του κανονισμού (PDF)").set_input_files(
            files=[
                {
                    "name": "kanonismos-leitourgias.pdf",
                    "mimeType": "application/pdf",
                    "buffer": minimal_pdf(),
                }
            ]
        )
        admin.get_by_role("button", name="Ανάρτηση").click()
        admin.wait_for_url(re.compile(rf"/municipalities/{CENTRE_CODE}/regulations/\d+$"))
        expect(admin.locator("dd.status")).to_have_text("Σχέδιο")
        audit.check(admin, "regulation, draft")
        regulation_path = admin.url.removeprefix(live)

        set_invited_password(engine, head_email, PASSWORD)
        head = person()
        log_in(head, audit, head_email, PASSWORD, regulation_path)
        audit.check(head, "regulation, for the centre head")
        head.get_by_role("button", name="Έγκριση της έκδοσης").click()
        expect(head.get_by_role("status")).to_contain_text("Η έκδοση εγκρίθηκε")
        expect(head.locator("dd.status")).to_have_text("Εγκρίθηκε από τον/την υπεύθυνο/η")
        audit.check(head, "regulation, approved")

        admin.reload()
        admin.get_by_role("button", name="Υποβολή στο Υπουργείο").click()
        expect(admin.get_by_role("status")).to_contain_text("Η έκδοση υποβλήθηκε στο Υπουργείο")
        expect(admin.locator("dd.status")).to_have_text("Υποβλήθηκε στο Υπουργείο")
        audit.check(admin, "regulation, submitted")

        # 10. The ministry sees it, acknowledges it, and sees the centre in its overview.
        _primary(ministry, "Κανονισμοί λειτουργίας")
        audit.check(ministry, "ministry regulations")
        row = ministry.get_by_role("row", name=re.compile(CENTRE_MUNICIPALITY))
        expect(row).to_contain_text("Υποβλήθηκε στο Υπουργείο")
        _follow(ministry, row.get_by_role("link", name=re.compile(CENTRE_MUNICIPALITY)))
        audit.check(ministry, "regulation, for the ministry")
        ministry.get_by_role("button", name="Παραλαβή").click()
        expect(ministry.get_by_role("status")).to_contain_text(
            "Η παραλαβή της έκδοσης καταχωρίστηκε"
        )
        expect(ministry.locator("dd.status")).to_have_text("Παραλήφθηκε από το Υπουργείο")
        audit.check(ministry, "regulation, acknowledged")
        _primary(ministry, "Εικόνα συμμόρφωσης")
        row = ministry.get_by_role("row", name=re.compile(CENTRE_NAME))
        expect(row).to_contain_text(CENTRE_MUNICIPALITY)
        expect(row).to_contain_text("Συμμορφώνεται")
        expect(row).to_contain_text("2 / 2")
        audit.check(ministry, "national compliance overview")
        log_out(ministry)
        for context in contexts:  # the documents after each one's last check too
            assert_security_headers(context)
        read = sum(len(w.checked) for c in contexts if (w := header_watch(c)) is not None)
        assert read >= len(audit.pages), (read, len(audit.pages))
    finally:
        for context in contexts:
            context.close()
