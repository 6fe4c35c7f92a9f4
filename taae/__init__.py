"""TAAE: transformer audio auto-encoder speech codec (model, bottlenecks, losses, trainer)."""
