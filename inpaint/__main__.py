"""``python -m inpaint``: the same as the ``inpaint`` command."""

from .cli_main import main

main()
