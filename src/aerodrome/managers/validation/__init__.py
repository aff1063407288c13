"""managers validation package."""
