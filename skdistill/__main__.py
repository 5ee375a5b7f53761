"""``python -m skdistill``: the same command line as the ``skdistill`` script."""

import sys

from skdistill.cli import main

if __name__ == "__main__":
    sys.exit(main())
