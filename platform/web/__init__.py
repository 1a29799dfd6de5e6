"""Shared plumbing of the server-rendered pages: layout, form macros, languages."""
