"""Audit trails: one per tenant schema, and the platform's own in the shared schema."""
