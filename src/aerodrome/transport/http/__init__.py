"""transport http package."""
