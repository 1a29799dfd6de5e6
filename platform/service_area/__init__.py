"""Where mobile units may serve: the policy's area around their centre, and ministry exceptions."""
