"""The staff roster of a municipality's centres, annexes and mobile units."""
