"""Running variants: the engine, runners (local, Docker), one simulation, budgets."""
