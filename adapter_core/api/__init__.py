"""The adapter's HTTP surface (Starlette): broker routes now, TradingView and admin routes next."""
