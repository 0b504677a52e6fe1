"""aws-sso-tray: keep AWS IAM Identity Center (SSO) sessions and role credentials fresh."""

__version__ = "0.1.0"


def read_package_file(package: str, *parts: str) -> bytes:
    """The bytes of data file `parts` of `package` (the icons, the dashboard's page).

    Read from the package's folder as the import system found it (an editable install's mapped
    folder too), else (a zipped package) through importlib.resources: importing that, and the
    zipfile module it loads, would cost the long-running tray 0.4 MB for a few file reads.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec(package)
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder).joinpath(*parts)
        if path.is_file():
            return path.read_bytes()
    from importlib.resources import files

    return files(package).joinpath(*parts).read_bytes()
