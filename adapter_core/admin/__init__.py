"""Operator-facing views of the adapter: token states, session listings, the event stream."""
