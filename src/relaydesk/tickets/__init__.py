"""Tickets: the customer's case, its messages from every channel, and its event timeline."""
