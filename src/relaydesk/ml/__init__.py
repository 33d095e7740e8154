"""Machine-learning plumbing shared by deflection and classification (no domain imports)."""
