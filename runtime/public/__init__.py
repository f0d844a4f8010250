"""Public pages: open to everyone, signed in or not; they show open data only."""
