"""``python -m bytepiece``: the same as the ``bytepiece`` command."""
import sys

from .cli import main

sys.exit(main())
