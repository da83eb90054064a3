"""Offline HTML walkthroughs: no CDN scripts, plots present, no credentials."""

import json
import re
import time

import nbformat
import pytest
from plotly.offline import get_plotlyjs

from cilium_lab import export, scrub, walkthrough_exporter
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
    fig = figures.assemble([{"type": "bar", "x": ["a", "b"], "y": [1, 2]}], {}, "Two bars", True)
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


# --- the exporter without nbconvert's BeautifulSoup pass (cilium_lab.walkthrough_exporter) ---

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _every_kind_of_cell(tmp_path):
    """A notebook with each kind of cell and output the lab template draws, images with and without alt
    text, and markup inside a script that no tag pass may touch."""
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("def f(x):\n    return x + 1  # a comment\n")
    code.outputs = [
        _stream("out\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warn\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1),
        nbformat.v4.new_output("display_data", data={"image/png": _PNG, "text/plain": "<Figure>"}),
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/html": (
                    '<style type="text/css">#T_x td {color: red}</style><table id="T_x"><tr><td>1</td></tr>'
                    '</table><img src="a.png"><img src="b.png" alt="b"><IMG SRC="c.png" />'
                    "<div class='jp-OutputArea-output inner' tabindex=\"-1\">nested</div>"
                    "<script>var s = '<img src=x.png><div class=\"jp-OutputArea-output\">';</script>"
                    "<!-- <img src=commented.png> -->"
                ),
                "text/plain": "table",
            },
        ),
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=["ValueError: bad"]),
    ]
    plots = nbformat.v4.new_code_cell("show(fig)")
    plots.outputs = [_figure_output()]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\n![a chart](chart.png) and ![](plain.png)\n\n`code` *em*"),
        code,
        plots,
        nbformat.v4.new_raw_cell("raw"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    path = tmp_path / "kinds.ipynb"
    nbformat.write(nb, path)
    return path


def _same_markup(page):
    """The page as a browser's DOM compares: BeautifulSoup's tree of it, serialized, random ids aside."""
    from bs4 import BeautifulSoup

    return _UUID.sub("<uuid>", str(BeautifulSoup(page, features="html.parser")))


def test_pages_carry_the_markup_of_nbconvert_s_own_html_exporter(tmp_path):
    """The exporter skips HTMLExporter.from_notebook_node's BeautifulSoup pass and does its work by a tag
    pass: compared with the stock exporter (same template and preprocessors), the page is the same DOM. A
    newer nbconvert whose from_notebook_node does more than the soup pass fails here."""
    from nbconvert import HTMLExporter

    notebook = _every_kind_of_cell(tmp_path)
    stock = HTMLExporter(template_name="offline", extra_template_basedirs=[str(export.TEMPLATES)])
    stock.register_preprocessor(export._figures_as_html, enabled=True)
    expected, _ = stock.from_filename(str(notebook), resources={"plotly_js": rendering.plotlyjs_name()})
    page = export.to_html(notebook).read_text().replace(f"<head>\n{export.GENERATOR}", "<head>", 1)
    assert _same_markup(page) == _same_markup(expected)
    # what the comparison rests on is there: highlighted code, focusable cells, alt text, the figure
    assert '<span class="k">def</span>' in page and '<span class="c1"># a comment</span>' in page
    assert page.count('tabindex="0"') == expected.count('tabindex="0"') >= 9
    assert page.count(f'alt="{walkthrough_exporter.NO_ALT}"') == 3  # a.png, c.png, plain.png
    assert 'alt="b"' in page and 'alt="a chart"' in page and "Plotly.newPlot(" in page
    assert "var s = '<img src=x.png><div class=\"jp-OutputArea-output\">';" in page  # a script's text


def test_the_tag_pass_adds_only_what_is_missing():
    page = (
        '<html><head><style>div.jp-OutputArea-output{} <img src="css"></style></head>'
        '<body class="jp-Notebook"><div class="jp-Cell-inputWrapper">in</div>'
        "<div class='x jp-OutputArea-output' tabindex='-1' data-a=\"a>b\">out</div>"
        '<div class="jp-OutputArea-outputs">not this one</div>'
        '<img src="x.png" alt=""><img src="y.png"/><!-- <img src=z.png> --></body></html>'
    )
    done, missing = walkthrough_exporter.accessible(page)
    assert missing == 1
    assert done == page.replace(
        '<div class="jp-Cell-inputWrapper">', '<div class="jp-Cell-inputWrapper" tabindex="0">'
    ).replace(
        "<div class='x jp-OutputArea-output' tabindex='-1' data-a=\"a>b\">",
        '<div class=\'x jp-OutputArea-output\' data-a="a>b" tabindex="0">',
    ).replace('<img src="y.png"/>', f'<img src="y.png" alt="{walkthrough_exporter.NO_ALT}"/>')


PLANTED = {
    "code": 'token = "PLANTEDcodeTOKEN1"',  # pygments splits this into spans: scrubbed before rendering
    "markdown": "Connect with `password: PLANTEDmarkdownPW2`",
    "stream": "client-key-data: PLANTEDstreamKEY3",
    "text/html": "<p>Authorization: Bearer PLANTEDhtmlBEARER4</p>",
    "traceback": "ApiException: https://admin:PLANTEDtracePW5@10.0.0.1:6443/api",
    "metadata": "title token=PLANTEDtitleTOKEN6",
    "figure": "api_key: PLANTEDfigureKEY7",
}


def test_no_credential_anywhere_in_a_notebook_reaches_its_page(tmp_path):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell(PLANTED["code"])
    fig = figures.assemble([{"type": "bar", "x": ["a"], "y": [1]}], {}, PLANTED["figure"], True)
    code.outputs = [
        _stream(PLANTED["stream"] + "\n"),
        nbformat.v4.new_output("display_data", data={"text/html": PLANTED["text/html"], "text/plain": "x"}),
        nbformat.v4.new_output("display_data", data=rendering.mimebundle(fig.to_plotly_json())),
        nbformat.v4.new_output("error", ename="ApiException", evalue="401", traceback=[PLANTED["traceback"]]),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell(PLANTED["markdown"]), code]
    nb.metadata["title"] = PLANTED["metadata"]  # the page's <title>
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "planted.ipynb"
    nbformat.write(nb, path)
    page = export.to_html(path).read_text()
    assert re.findall(r"PLANTED\w+", page) == []
    assert page.count("[REDACTED]") >= 5 and "https://***@10.0.0.1" in page
    assert "<title>title token=[REDACTED]</title>" in page


def test_the_page_scrub_keeps_to_what_scrubbing_the_whole_page_does(tmp_path):
    """scrub_page scrubs the head's style elements one by one (and remembers them): on a page with
    credentials in its head and body it gives what scrub() of the whole page gives."""
    notebook = _every_kind_of_cell(tmp_path)
    page, _ = export._exporter().from_notebook_node(
        nbformat.read(notebook, as_version=4), resources={"plotly_js": rendering.plotlyjs_name()}
    )
    planted = page.replace("<title>", "<title>token: PLANTEDheadTOKEN ", 1).replace(
        "</style>", "/* password=PLANTEDcssPW */</style>", 1
    )
    planted = planted.replace("<main>", "<main><p>https://u:PLANTEDbodyPW@h</p>", 1)
    assert export.scrub_page(planted) == scrub.scrub(planted)
    assert export.scrub_page(planted) == scrub.scrub(planted)  # the second time from the remembered styles
    assert "PLANTED" not in export.scrub_page(planted)


def test_a_plotlyjs_removed_or_cut_between_exports_is_written_again(tmp_path):
    notebook = _notebook(tmp_path, [_figure_output()])
    page = export.to_html(notebook)
    bundle = page.parent / rendering.plotlyjs_name()
    bundle.unlink()
    export.to_html(notebook)
    assert bundle.read_text() == get_plotlyjs()
    bundle.write_text("cut")
    export.to_html(notebook)
    assert bundle.read_text() == get_plotlyjs()


def test_the_tag_pass_reads_open_scripts_and_tags_as_a_browser_does_in_linear_time():
    assert walkthrough_exporter.accessible("<body><script>var a; <img src=x.png>") == (
        "<body><script>var a; <img src=x.png>",
        0,
    )  # a script left open runs to the end of the page: no tag in it
    open_tags = "<body>" + '<img src="a.png" <div class="jp-OutputArea-output" ' * 2000 + "<!--" * 2000
    start = time.process_time()
    walkthrough_exporter.accessible(open_tags)
    assert time.process_time() - start < 0.5  # seconds; scanning to the end per open tag took 2-4 s
