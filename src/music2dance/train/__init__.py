"""Data preparation and the one training loop every model uses."""
