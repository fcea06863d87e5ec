"""What the console's views drive: secrets, profiles, adapter clients, the embedded adapter.

Nothing here creates widgets, so all of it is testable without a window.
"""
