"""Routing: queues, offers and assignment (see README.md)."""
