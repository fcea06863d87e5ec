"""The operator console: a Qt application over the adapter's HTTP API."""
