"""`python -m pmlab` = `lab/lab`."""
import sys

from pmlab.cli import main

sys.exit(main())
