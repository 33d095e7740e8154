"""Knowledge base: articles with versions, import/export, and the hybrid search index."""
