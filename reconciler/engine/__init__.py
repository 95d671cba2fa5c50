"""Connect, read, diff and apply, and the workflows the commands and the demo run."""
