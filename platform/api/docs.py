"""The API document's pages: Swagger UI at ``/api/v1/docs`` and ReDoc at ``/api/v1/docs/redoc``.

flask-smorest's own routes, with our templates: theirs start the viewers with an inline script,
which the pages' CSP forbids. Ours load everything from the platform: the viewers' files from
their npm packages (``platform/api/viewers/package.json``, installed by ``make docs-assets``, part
of ``make run`` and ``make test``), and Swagger UI's start from our ``static/swagger-ui-init.js``.
No CDN. Where the packages are not installed the page says how to install them (503).
"""

from __future__ import annotations

from pathlib import Path

import flask
from flask import Response, abort, render_template, send_from_directory

from kentra.platform.core.headers import DOCS_CONTENT_SECURITY_POLICY

HERE = Path(__file__).resolve().parent
PACKAGES = HERE / "viewers" / "node_modules"
# The files the pages load, by package (a folder of node_modules): nothing else is served.
ASSETS: dict[str, tuple[str, frozenset[str]]] = {
    "swagger-ui": (
        "swagger-ui-dist",
        frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}),
    ),
    "redoc": ("redoc/bundles", frozenset({"redoc.standalone.js"})),
}
# Our own script, which starts Swagger UI.
OWN_SCRIPTS = HERE / "static"
SWAGGER_UI_INIT = "swagger-ui-init.js"
INSTALL_HINT = "make docs-assets"

blueprint = flask.Blueprint("api-docs-assets", __name__, template_folder="templates")


@blueprint.route("/api/v1/docs/assets/<package>/<file_name>")
def asset(package: str, file_name: str) -> Response:
    """One file of a viewer's npm package (cached a day: the packages are pinned), or our
    script that starts Swagger UI (package ``kentra``)."""
    if package == "kentra" and file_name == SWAGGER_UI_INIT:
        return send_from_directory(OWN_SCRIPTS, file_name, max_age=3_600)
    folder, files = ASSETS.get(package, ("", frozenset()))
    if file_name not in files or not installed():
        abort(404)
    return send_from_directory(PACKAGES / folder, file_name, max_age=86_400)


def installed() -> bool:
    return all(
        (PACKAGES / folder / name).is_file() for folder, names in ASSETS.values() for name in names
    )


def asset_url(package: str, file_name: str) -> str:
    """The URL of one file :func:`asset` serves."""
    return flask.url_for(f"{blueprint.name}.asset", package=package, file_name=file_name)


def swagger_ui_page(title: str, spec_url: str) -> Response:
    return docs_page(
        "api/swagger_ui.html",
        title=title,
        spec_url=spec_url,
        # The package's folder: the template names its files.
        swagger_ui_url=asset_url("swagger-ui", "swagger-ui.css").removesuffix("swagger-ui.css"),
        init_script=asset_url("kentra", SWAGGER_UI_INIT),
        redoc_page=flask.url_for("api-docs.openapi_redoc"),
    )


def redoc_page(title: str, spec_url: str) -> Response:
    return docs_page(
        "api/redoc.html",
        title=title,
        spec_url=spec_url,
        redoc_url=asset_url("redoc", "redoc.standalone.js"),
        swagger_page=flask.url_for("api-docs.openapi_swagger_ui"),
    )


def docs_page(template: str, **context: str) -> Response:
    """A viewer's page under its own CSP; without the packages, how to install them."""
    if installed():
        body, status = render_template(template, **context), 200
    else:
        missing = render_template("api/docs_missing.html", hint=INSTALL_HINT, **context)
        body, status = missing, 503
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return response
