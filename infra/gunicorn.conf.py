"""Gunicorn settings for production: ``gunicorn -c infra/gunicorn.conf.py kentra.platform.app.wsgi:app``."""

import os

bind = os.environ.get("KENTRA_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("KENTRA_WEB_WORKERS", "2"))
threads = int(os.environ.get("KENTRA_WEB_THREADS", "4"))
timeout = 60
graceful_timeout = 30
# The app writes one JSON line per request without the query string; gunicorn's access log
# would add the query string (search terms, possibly names), so it stays off.
accesslog = None
errorlog = "-"
forwarded_allow_ips = os.environ.get("KENTRA_FORWARDED_ALLOW_IPS", "127.0.0.1")
