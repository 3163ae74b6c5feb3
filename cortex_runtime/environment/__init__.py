"""Environments: the export form of definitions, and mdctl env import / export."""
