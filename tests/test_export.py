"""Offline HTML walkthroughs: no CDN scripts, plots present, no credentials."""

import json
import re

import nbformat
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from cilium_lab import export
from cilium_lab.errors import InputError
from cilium_lab.ui import figures, rendering


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


def _figure_output():
    fig = figures.label(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), "Two bars", True)
    return nbformat.v4.new_output("display_data", data=rendering.mimebundle(fig.to_plotly_json()))


def test_a_notebook_figure_is_plotly_json_and_a_line_of_text_without_plotlyjs():
    data = _figure_output()["data"]
    assert set(data) == {rendering.MIMETYPE, "text/plain"}
    assert data[rendering.MIMETYPE]["data"][0]["type"] == "bar"
    assert "SIMULATED · Two bars" in data["text/plain"] and "plotly figure" in data["text/plain"]
    assert len(json.dumps(data)) < 50_000  # plotly.js is 4.8 MB


def test_figures_become_divs_drawn_by_one_plotlyjs_beside_the_pages(tmp_path):
    notebooks = []
    for name in ("one", "two"):
        path = _notebook(tmp_path, [_figure_output(), _figure_output()])
        notebooks.append(path.rename(tmp_path / f"{name}.ipynb"))
    out = tmp_path / "out"
    out.mkdir()
    pages = [export.to_html(nb, out / nb.with_suffix(".html").name) for nb in notebooks]
    bundle = out / rendering.plotlyjs_name()
    assert bundle.read_text() == get_plotlyjs()  # the installed plotly package's own bundle
    written = bundle.stat().st_mtime_ns
    export.to_html(notebooks[0], pages[0])
    assert bundle.stat().st_mtime_ns == written  # once per folder, not once per page
    assert sorted(p.name for p in out.iterdir()) == sorted([bundle.name, "one.html", "two.html"])
    for page in pages:
        html = page.read_text()
        assert len(html) < 1_000_000 and get_plotlyjs()[:2000] not in html
        assert f'<script src="{bundle.name}"></script>' in html
        assert html.count('class="plotly-graph-div"') == 2 and html.count("Plotly.newPlot(") == 2
        assert "plotly figure:" not in html  # the div, not the notebook's text line


def test_export_to_another_folder_puts_plotlyjs_there(tmp_path):
    notebook = _notebook(tmp_path, [_figure_output()])
    (tmp_path / "elsewhere").mkdir()
    page = export.to_html(notebook, tmp_path / "elsewhere" / "lab.html")
    assert (page.parent / rendering.plotlyjs_name()).is_file()
    assert not (tmp_path / rendering.plotlyjs_name()).exists()
