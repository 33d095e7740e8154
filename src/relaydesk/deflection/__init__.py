"""Deflection: suggestion sessions, "did this solve it?", outcomes, holdout and gap reports."""
