"""Channels: the ways customer conversations reach Relaydesk (email, chat, web forms)."""
