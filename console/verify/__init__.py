"""Verify a deployment: a catalogue of conformance checks against any adapter, and its reports.

Qt-free (it talks HTTP through the console's `AdapterClient`), so the Verify page, the
`tv-adapter-console verify` command and the tests run the very same engine.
"""
