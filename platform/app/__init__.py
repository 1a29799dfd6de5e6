"""The app assembly, the top layer: the Flask app (``factory.create_app``), its WSGI entry
point, the ``kentra`` command line, the development server, and the health endpoints.

It imports every layer below it (the domain modules, ``tenants``, ``auth``, ``tasks`` and the
kernel ``platform/core``); nothing imports it (``make lint``'s import contracts).
"""
