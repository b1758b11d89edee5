"""``python -m mlffkit ...``: the same as the ``mlffkit`` command."""

import sys

from mlffkit.cli import main

sys.exit(main())
