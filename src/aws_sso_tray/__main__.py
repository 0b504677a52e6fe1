"""`python -m aws_sso_tray` runs the CLI."""

import sys

from aws_sso_tray.launch import main

sys.exit(main())
