"""Identity and access: OIDC token validation, roles and permissions, identity adapters.

Built by the identity issue; the foundation exposes no personal data and needs none of it yet.
"""
