"""``python -m ob1_gateway.cli`` — the same program as ``ob1gw``."""

from . import main

main()
