"""Compliance of centres, computed from the tenant's data and the policy in force.

Importing the package registers the session events that keep ``shared.centre_compliance``
current (see :mod:`.events`); the web app, the worker and ``load_all_models`` all import it.
"""

from kentra.platform.compliance import events as _events  # noqa: F401  (registers listeners)
