"""Supervision, derived: own directorates, or the seat municipality of the regional unit."""
