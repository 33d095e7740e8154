"""The HTTP layer: app factory, error rendering, templates and static files."""
