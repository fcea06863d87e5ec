"""TradingView's side of the adapter: its units, shapes and the trading rules it expects."""
