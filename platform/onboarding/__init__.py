"""Self-service signup: a municipality requests onboarding, an operator or ministry officer
decides, and approval provisions the tenant, its identity organization and its first admin."""
