"""db models package."""
