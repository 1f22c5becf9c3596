"""``python -m inpaint``: the same as the ``inpaint`` command."""

from .cli import main

main()
