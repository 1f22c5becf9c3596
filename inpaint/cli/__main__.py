"""``python -m inpaint.cli``: the same as the ``inpaint`` command."""

from . import main

main()
