"""Files shipped inside the package (data/ and lab_notebooks/), found through importlib.resources.

An installed wheel and a checkout read them the same way, so nothing depends on where the package was
installed from. They must be real files on disk: papermill and JupyterLab open the notebooks by path.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader where PyYAML was built with it (the wheels are): the same documents, parsed in C; the
# rule table alone took a third of a second in the pure-Python loader, in every process that boots an agent
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def shipped(*parts: str) -> Path:
    """The path of a file or folder shipped in the cilium_lab package, e.g. shipped("data", "profiles")."""
    found = resources.files("cilium_lab").joinpath(*parts)
    if not isinstance(found, Path):  # a zipped install: the notebooks could not be opened by path
        raise RuntimeError(f"cilium_lab is not installed as files on disk ({found}): install it with pip")
    return found


def load_yaml(path: Path) -> Any:
    """The one YAML document in `path`, as `yaml.safe_load` reads it (libyaml where available)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
