"""Boussole as an MCP server, for chat assistants: `server` builds it, `http` mounts it at
/mcp in the FastAPI app, `stdio` runs it for desktop assistants (`boussole mcp`)."""
