"""Showing results: the terminal table."""
