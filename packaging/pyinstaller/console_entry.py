"""The bundle's `tv-adapter-console`: the entry point pip installs as a gui-script."""

import sys

from console.main import main

sys.exit(main())
