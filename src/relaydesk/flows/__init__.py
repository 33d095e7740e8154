"""Sequences that span several domains, above them all (see README.md)."""
