"""`boussole` corpus commands."""

COMMANDS: list = []
