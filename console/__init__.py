"""The operator console (PySide6). Grows in the console issue; the adapter lives in adapter_core."""
