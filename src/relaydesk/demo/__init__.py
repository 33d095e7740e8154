"""Demo data for a retail clothing brand (issue flows drawn from ABCD, MIT licence)."""
