"""Built-in vendor plug-ins, one package each; see docs/adding-a-vendor.md."""
