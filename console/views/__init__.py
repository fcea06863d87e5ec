"""The console's windows, pages and widgets."""
