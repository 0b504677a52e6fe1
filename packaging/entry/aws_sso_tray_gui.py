"""PyInstaller entry script for the windowless tray (aws_sso_tray.cli.main:gui_main)."""

import sys

from aws_sso_tray.cli.main import gui_main

if __name__ == "__main__":
    sys.exit(gui_main())
