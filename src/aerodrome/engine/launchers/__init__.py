"""Launchers run task attempts (local subprocesses; Ray later)."""
