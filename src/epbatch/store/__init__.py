"""Storing results: database, migrations, results tables."""
