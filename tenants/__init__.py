"""Tenants: the registry, provisioning, migrations, and the only place that binds a schema.

Public API used by the rest of the platform::

    from kentra.tenants.binding import tenant_session, current_tenant
    from kentra.tenants.codes import parse_municipality_code
"""
