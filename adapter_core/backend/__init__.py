"""The trading backend port (shaped after cTrader) and its implementations."""
