"""One family of refusals (issue 12, ADR 0033): domain operations raise ``DomainError`` with a
stable code named by their module and a message marked for translation; the API answers it as
problem+json with its code, and both the API and the pages show it in the request's language
only (the pages' test is in tests/units/test_units_pages.py, closing a centre in English)."""

from __future__ import annotations

import ast
import importlib
import re
from collections import defaultdict
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale

from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import LazyString

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("platform", "tenants", "auth", "tasks")
# Domain modules that still define exception classes of their own. None: keep it so.
OWN_EXCEPTIONS_LEFT: frozenset[str] = frozenset()


def python_files() -> list[Path]:
    return sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py"))


def module_name(path: Path) -> str:
    return "kentra." + ".".join(path.relative_to(ROOT).with_suffix("").parts)


def package_of(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    return parts[1] if parts[0] == "platform" else parts[0]


def refusals() -> list[tuple[Path, ast.Call]]:
    """Every ``DomainError(...)`` written in the code."""
    found = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DomainError":
                found.append((path, node))
    return found


def literal(node: ast.expr) -> object:
    assert isinstance(node, ast.Constant), ast.dump(node)
    return node.value


def test_every_refusal_has_a_stable_code_of_its_module_and_one_status() -> None:
    statuses: dict[object, set[object]] = defaultdict(set)
    sites = refusals()
    assert len(sites) >= 13
    for path, call in sites:
        code, status = literal(call.args[0]), literal(call.args[1])
        assert isinstance(code, str)
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", code), code
        assert code.split(".")[0] == package_of(path), (code, path)
        assert isinstance(status, int)
        assert 400 <= status < 600
        statuses[code].add(status)
    assert {code: s for code, s in statuses.items() if len(s) > 1} == {}


def test_every_refusal_message_has_its_english(app: Flask) -> None:
    """Walks every code whose message is a module's constant: it is marked for translation and
    the English catalogue translates it (messages built by a function are lazy strings too;
    the catalogue test checks every marked message)."""
    walked = set()
    for path, call in refusals():
        message = call.args[2]
        if not isinstance(message, ast.Name):
            continue
        text = getattr(importlib.import_module(module_name(path)), message.id, None)
        if text is None:  # a local name (e.g. a message a function returned)
            continue
        assert isinstance(text, LazyString), (path, message.id)
        with app.test_request_context(), force_locale("en"):
            english = str(text)
        greek = str(text)  # outside a request: the source
        assert english != greek, (literal(call.args[0]), greek)
        assert not re.search("[α-ωΑ-Ω]", english), english
        walked.add(literal(call.args[0]))
    assert len(walked) >= 9


def test_no_domain_module_defines_its_own_exception_class_but_those_being_folded() -> None:
    own = set()
    for path in (ROOT / "platform").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and any(
                getattr(base, "id", "").endswith(("Error", "Exception", "Invalid", "Conflict"))
                or getattr(base, "id", "") in {"ValueError", "RuntimeError"}
                for base in node.bases
            ):
                own.add(package_of(path))
    own -= {"core"}  # the kernel: DomainError itself, ConfigError
    assert own == OWN_EXCEPTIONS_LEFT


@pytest.mark.parametrize(
    ("accept", "detail"),
    [
        (None, "Δεν υπάρχει Δήμος με κωδικό 9999."),
        ("el", "Δεν υπάρχει Δήμος με κωδικό 9999."),
        ("en-GB,en;q=0.8", "There is no municipality with code 9999."),
        ("fr", "Δεν υπάρχει Δήμος με κωδικό 9999."),
    ],
)
def test_the_api_answers_a_refusal_once_with_its_code_in_the_request_language(
    app: Flask, accept: str | None, detail: str
) -> None:
    from kentra.platform.units.operations import NO_SUCH_MUNICIPALITY

    error = DomainError(
        "units.no_such_municipality",
        422,
        NO_SUCH_MUNICIPALITY,
        field="served_municipalities",
        code="9999",
    )
    assert str(error) == "units.no_such_municipality"  # what reaches a log: no message
    headers = {"Accept-Language": accept} if accept else {}
    with app.test_request_context("/api/v1/anything", headers=headers):
        response = app.handle_user_exception(error)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "units.no_such_municipality"
    assert body["title"] == "Unprocessable Entity"  # HTTPStatus(422).phrase
    assert body["detail"] == detail
    assert body["errors"] == {"json": {"served_municipalities": [detail]}}
