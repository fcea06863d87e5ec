"""The onboarding demo: the source document's integration flow, acted out against an adapter.

Qt-free: the Demo page, the `tv-adapter-console demo` command and the tests step through the
same stages (`stages.py`) with the same flow (`flow.py`).
"""
