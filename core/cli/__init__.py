"""The headless command line: the parser in main.py and one module per subcommand."""
