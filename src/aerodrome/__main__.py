"""Allow ``python -m aerodrome``."""

from aerodrome.cli.main import main

main()
