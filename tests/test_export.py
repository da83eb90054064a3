"""Offline HTML walkthroughs: no CDN scripts, plots present, no credentials."""

import re

import nbformat
import pytest

from cilium_lab import export
from cilium_lab.errors import InputError


def _notebook(tmp_path, outputs):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = outputs
    nb.cells = [nbformat.v4.new_markdown_cell("# A lab"), cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "lab.ipynb"
    nbformat.write(nb, path)
    return path


def _stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_walkthrough_loads_no_remote_script(tmp_path):
    html = export.to_html(_notebook(tmp_path, [_stream("hello\n")])).read_text()
    assert "hello" in html
    assert not re.search(r"<script[^>]+src=[\"']https?://", html)


@pytest.mark.parametrize(
    "secret",
    [
        "Authorization: Bearer abcdefghijklmnop0123",
        "token: 0123456789abcdef",
        "client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==",
        "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXZhbHVl",
    ],
)
def test_credentials_never_reach_the_walkthrough(tmp_path, secret):
    html = export.to_html(_notebook(tmp_path, [_stream(secret + "\n")])).read_text()
    value = secret.split()[-1]
    assert value not in html
    assert "[REDACTED]" in html


def test_export_refuses_what_is_not_a_notebook(tmp_path):
    with pytest.raises(InputError, match="not an executed notebook"):
        export.to_html(tmp_path / "missing.ipynb")
