"""Pure validators, one module per concern; they raise InvalidArgument with FlyteAdmin's texts."""
