"""Parsing a simulation's outputs into result records."""
