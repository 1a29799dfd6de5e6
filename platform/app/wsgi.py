"""WSGI entry point: ``gunicorn kentra.platform.app.wsgi:app``."""

from kentra.platform.app.factory import create_app

app = create_app()
