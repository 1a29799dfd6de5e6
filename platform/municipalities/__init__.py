"""A municipality's own space: its public profile and settings (tenant schema)."""
