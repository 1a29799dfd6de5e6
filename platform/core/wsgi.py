"""WSGI entry point: ``gunicorn kentra.platform.core.wsgi:app``."""

from kentra.platform.core.app import create_app

app = create_app()
