"""Script modules implemented in Python, reached from scripts through the sandbox's host calls."""
