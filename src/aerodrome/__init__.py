"""aerodrome: a Python control plane that speaks the Flyte 1.x admin API."""

__version__ = "0.1.0"
