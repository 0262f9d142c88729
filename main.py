"""Swin Explorer entry point.

    python main.py [IMAGE]             open the explorer (on a bundled photo without IMAGE)
    python main.py export IMAGE ...    write figures without opening a window
    python main.py flops ...           print the cost table
    python main.py weights ...         download the official pretrained weights
"""

from __future__ import annotations

import sys

CLI_COMMANDS = {"export", "flops", "weights", "-h", "--help"}


def main(argv: list[str]) -> int:
    if argv and argv[0] in CLI_COMMANDS:
        from explorer.cli import main as cli_main

        return cli_main(argv)
    from explorer.app import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl-C before a command installed its own handling (imports)
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
