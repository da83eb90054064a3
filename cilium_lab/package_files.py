"""Files shipped inside the package (data/ and lab_notebooks/), found through importlib.resources.

An installed wheel and a checkout read them the same way, so nothing depends on where the package was
installed from. They must be real files on disk: papermill and JupyterLab open the notebooks by path.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped(*parts: str) -> Path:
    """The path of a file or folder shipped in the cilium_lab package, e.g. shipped("data", "profiles")."""
    found = resources.files("cilium_lab").joinpath(*parts)
    if not isinstance(found, Path):  # a zipped install: the notebooks could not be opened by path
        raise RuntimeError(f"cilium_lab is not installed as files on disk ({found}): install it with pip")
    return found
