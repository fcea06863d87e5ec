"""The bundle's `tv-adapter`: the headless adapter, the entry point pip installs as a script."""

import sys

from adapter_core.cli import main

sys.exit(main())
