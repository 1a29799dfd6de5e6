"""Reference data: regions, regional units (with seats) and the 332 municipalities."""
