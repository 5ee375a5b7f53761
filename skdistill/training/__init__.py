"""The skorch training layer (knows nothing of sktime)."""
