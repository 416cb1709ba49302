"""Postmortems: render an incident, lint it for blame, publish it to a git repository."""
