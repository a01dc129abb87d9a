"""``python -m cavitykit``: the ``cavitykit`` command."""

import sys

from cavitykit.cli import main

sys.exit(main())
