"""The agent workspace: the screens agents work in, composed from the domains' services (see README.md)."""
