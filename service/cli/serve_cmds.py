"""`boussole` serve commands."""

COMMANDS: list = []
