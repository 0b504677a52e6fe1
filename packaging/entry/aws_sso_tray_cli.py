"""PyInstaller entry script for the console command `aws-sso-tray` (aws_sso_tray.launch:main)."""

import sys

from aws_sso_tray.launch import main

if __name__ == "__main__":
    sys.exit(main())
