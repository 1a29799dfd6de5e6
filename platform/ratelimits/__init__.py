"""Shared rate-limit counters: a storage for the `limits` library on PostgreSQL.

Counting in the database (the default) makes a limit hold across every worker process and
machine of the platform; ``kentra.platform.ratelimits.limits`` decides which storage is used.
"""
