"""Core of the web platform: configuration, database engine, app factory, CLI, logging."""
