"""Managers hold the rules; transports call exactly one manager method per request."""
