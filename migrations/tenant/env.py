"""Alembic environment of the tenant stream: the connection and options come from kentra."""

from alembic import context

from kentra.tenants.revisions import configure_environment

configure_environment(context, "tenant")
