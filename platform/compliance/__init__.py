"""Compliance of centres, computed from the tenant's data and the policy in force.

Importing the package loads :mod:`.tasks`, which subscribes the tenant recompute to the units',
staff's and regulations' events (ADR 0035): the web app (blueprint discovery), the worker (its
task module) and ``load_all_models`` all import it, so every process that publishes those
events has the subscription.
"""

from kentra.platform.compliance import tasks as _tasks  # noqa: F401  (subscribes the recompute)
