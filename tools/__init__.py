"""Development tools: never shipped in the package."""
