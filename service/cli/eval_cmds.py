"""`boussole` eval commands."""

COMMANDS: list = []
