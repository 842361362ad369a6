"""steerstats: statistics of steerability and reward models."""

__version__ = "0.1.0"
