"""A cTrader-style TradingView adapter: token issuance, logout and the TradingView broker API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tv-adapter-console")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
