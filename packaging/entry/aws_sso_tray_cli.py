"""PyInstaller entry script for the console command `aws-sso-tray` (aws_sso_tray.cli:main)."""

import sys

from aws_sso_tray.cli import main

if __name__ == "__main__":
    sys.exit(main())
