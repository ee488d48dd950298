"""Operating epbatch: CLI, servers, live progress."""
