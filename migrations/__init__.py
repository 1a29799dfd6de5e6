"""Alembic scripts: ``shared/`` (the shared schema) and ``tenant/`` (every municipality schema).

Run them with ``kentra db upgrade``; create revisions with ``kentra db revision``.
"""
