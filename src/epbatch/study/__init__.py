"""Study specs and their validation (before any simulation)."""
