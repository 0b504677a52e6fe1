"""PyInstaller runtime hook: the programs the bundle starts get the user's library path back.

The Linux bootloader points LD_LIBRARY_PATH at the bundle's own libraries (keeping the user's in
LD_LIBRARY_PATH_ORIG). This process has already read it (the dynamic loader reads it once, at
start), but children inherit it: the user's browser (login), xdg-open, wl-copy / xclip
(clipboard) would load our copies of GLib, OpenSSL... instead of their own, and may crash.
"""

import os
import sys

if getattr(sys, "frozen", False) and sys.platform.startswith("linux"):
    _orig = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if _orig is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = _orig
