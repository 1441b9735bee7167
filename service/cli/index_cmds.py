"""`boussole` index commands."""

COMMANDS: list = []
