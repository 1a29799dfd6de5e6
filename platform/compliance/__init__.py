"""Compliance of centres, computed from the tenant's data and the policy in force."""
