"""The `todlm` command line."""
