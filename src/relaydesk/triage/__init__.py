"""Triage: category, priority and team for each ticket, and the missing-information loop."""
