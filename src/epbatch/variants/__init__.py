"""Models and variants: preparing model inputs, envelope swaps, the batch plan."""
