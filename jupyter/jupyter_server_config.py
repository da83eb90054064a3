"""JupyterLab settings for the labs: loopback only, and nothing fetched from the internet.

Read by `jupyter lab --config=jupyter/jupyter_server_config.py` (make jupyter, and the browser test
tests/test_browser_lab06.py, which starts JupyterLab with this file). Widgets and plotly figures
render from the labextensions that jupyterlab_widgets and plotly install into the environment, so
JupyterLab itself needs no CDN; what would still reach out is JupyterLab's own update check (a
request from the server to PyPI) and its news feed, both turned off here.
"""

import os

c = get_config()  # noqa: F821 (provided by the traitlets config loader)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.open_browser = False
# CI and the lab machines run as root; JupyterLab refuses to start as root without this. It only
# listens on the loopback and asks for its token.
c.ServerApp.allow_root = os.geteuid() == 0
# The extension manager would search PyPI from the server; the labs need no extension installs.
c.LabApp.extension_manager = "readonly"
# The update check asks PyPI for the newest JupyterLab on every start; the news feed polls a URL.
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.news_url = None
