"""The command line: one module per subcommand, wired in app.py."""
