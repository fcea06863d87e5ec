"""`tv-adapter-console`: the GUI, or with `profile ...` a command line that opens no window."""

from __future__ import annotations

import sys

from adapter_core import __version__
from console.logs import configure_logging


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["--version"]:
        print(f"tv-adapter-console {__version__}")
        return 0
    if argv[:1] == ["--self-test"]:  # before logging: it must not write the operator's log
        from console.self_test import self_test_main

        return self_test_main(argv[1:])
    configure_logging()
    if argv[:1] == ["profile"]:
        from console.cli import profile_main

        return profile_main(argv[1:])
    if argv[:1] == ["demo"]:
        from console.demo.cli import demo_main

        return demo_main(argv[1:])
    if argv[:1] == ["verify"]:
        from console.verify.cli import verify_main

        return verify_main(argv[1:])
    from console.app import run_gui

    return run_gui(argv)


if __name__ == "__main__":
    sys.exit(main())
