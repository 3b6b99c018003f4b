"""``python -m pacemaker_update.cli``."""

import sys

from pacemaker_update.cli import main

sys.exit(main())
