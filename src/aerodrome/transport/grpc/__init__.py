"""transport grpc package."""
