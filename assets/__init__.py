"""The tray's icon files: `{state}-{size}.png`, `{state}.ico`, `{state}.icns`, `preview.png`.

This top-level folder of the repository is their only home. pyproject.toml maps it to the
package `aws_sso_tray.assets` (`package-dir`), so wheels ship the files as `aws_sso_tray/assets/`,
an editable install finds them here, and `tray/icons.py` loads them with importlib.resources.
`render_icons.py` beside them renders them from `tray/icons.py` (`--check` compares only).
"""
