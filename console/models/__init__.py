"""Qt item models: thin adapters over the plain Python state of `console.services`."""
