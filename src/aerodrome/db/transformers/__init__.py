"""db transformers package."""
