"""Gunicorn settings for production: ``gunicorn -c infra/gunicorn.conf.py kentra.platform.app.wsgi:app``."""

import os

bind = os.environ.get("KENTRA_BIND", "127.0.0.1:8000")
# One request at a time per worker by default (ADR 0032): the app's requests are short CPU
# work between short database round trips, and threads of one worker take turns holding the
# GIL. Measured on 2 cores (B5), 2 workers of 4 threads spent a third more CPU per request
# than 2 workers of 1 thread and served a third fewer requests. Raise KENTRA_WEB_THREADS
# (or KENTRA_WEB_WORKERS) where requests wait long on other services, e.g. a remote
# Keycloak's admin API during invitations.
workers = int(os.environ.get("KENTRA_WEB_WORKERS", "2"))
threads = int(os.environ.get("KENTRA_WEB_THREADS", "1"))
timeout = 60
graceful_timeout = 30
# The app writes one JSON line per request without the query string; gunicorn's access log
# would add the query string (search terms, possibly names), so it stays off.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("KENTRA_FORWARDED_ALLOW_IPS", "127.0.0.1")
