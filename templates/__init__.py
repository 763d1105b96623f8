"""Jinja templates for alerts; a user template directory overrides these by file name."""
