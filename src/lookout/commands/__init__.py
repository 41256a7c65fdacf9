"""CLI command modules (each with ``register(app)``)."""
