"""What an operator sees of a running server: Prometheus metrics and structured logs (issue 18)."""
