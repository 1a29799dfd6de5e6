"""Kentra's benchmark suite: ``make bench`` (``python -m tests.benchmarks``).

What is measured, and why:

- B1 provisioning: creating one tenant (``create_tenant``: schema, tables, migration stamp,
  registry row, seeded defaults, in one transaction) against the floor PostgreSQL sets for the
  same tables (the compiled tenant DDL sent over plain psycopg). Target: p95 <= 1.5 x raw p95,
  i.e. the platform adds at most half again on top of the database's own work.
- B2 national scale: all 332 municipalities of Greece provisioned in one database, then
  ``kentra db upgrade`` with nothing to do (what every deploy runs) and an additive migration
  over every tenant schema with data in it. Schema-per-tenant platforms are known to become
  slow exactly here (see the peers note in docs/benchmarks.md).
- Web process RSS: the memory of one gunicorn worker after start, which decides how many
  workers fit on a small municipal server.
- Keycloak (idp.py): its tokens validated beside the embedded issuer's, its start to ready and
  the realm import, on a Keycloak the bench starts and stops itself.

Everything runs in a scratch database ``kentra_bench`` on the configured (or embedded) server.
The figures go to docs/benchmarks.md and var/bench/latest.json.
"""
