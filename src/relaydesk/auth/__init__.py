"""Authentication and authorisation plumbing: passwords, sessions, CSRF, API tokens, roles."""
