"""Exported HTML walkthroughs, opened in headless Chromium as a reader would open them from disk.

Runs the whole series in one batch on the embedded cluster (`cilium_lab.labs.run` of every lab,
html=True, small samples), as `cilium-lab run --all --approve --html` does, keeps the batch's
kubeconfig secrets while the cluster is up, then opens every walkthrough with
tests/browser/open_walkthrough.js: every figure of the notebook must be drawn (plotly.js loaded from
the one file beside the pages) with no page or console error, no request may leave file:// (any
other is aborted and recorded), the page must show each decision and the SIMULATED label, the
SIMULATED note must not overlap a title, the folder must stay small, and no HTML file may carry a
token or kubeconfig content. A copy of one page alone in a folder must say that plotly.js is missing.
Screenshots go to test-artifacts/walkthrough/ (git-ignored).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from browser import lab_server

from cilium_lab import labs
from cilium_lab.ui import rendering

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("browser"),
    pytest.mark.timeout(900),
]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "walkthrough"
DRIVER = Path(lab_server.__file__).with_name("open_walkthrough.js")
SMALL = {"samples": 3, "duration": 1}
MAX_OUTPUT_BYTES = 15_000_000  # notebooks, pages, plotly.js and records of the whole series
ALONE = "alone"  # a page copied into a folder of its own, without plotly.js


def kubeconfig_secrets(path: Path) -> set[str]:
    """Tokens, client keys and certificates, passwords and CA data: what must never reach an export."""
    config = yaml.safe_load(path.read_text())
    users = [entry.get("user") or {} for entry in config.get("users") or []]
    clusters = [entry.get("cluster") or {} for entry in config.get("clusters") or []]
    fields = ("token", "client-key-data", "client-certificate-data", "password")
    found = {user[name] for user in users for name in fields if user.get(name)}
    return found | {c["certificate-authority-data"] for c in clusters if c.get("certificate-authority-data")}


def open_in_chromium(htmls: list[Path], work: Path, timeout: float = 900) -> dict:
    pages = [
        {
            "html": str(html),
            "shots": {
                "page": str(ARTIFACTS / f"{html.stem}.png"),
                "figure": str(ARTIFACTS / f"{html.stem}-figure.png"),
            },
        }
        for html in htmls
    ]
    config = {
        "chromium": lab_server.CHROMIUM,
        "timeoutMs": 30000,
        "pages": pages,
        "result": str(work / "walkthrough-result.json"),
    }
    result = lab_server.run_driver(DRIVER, config, work / "walkthrough-config.json", timeout)
    assert not result["error"], result["error"]
    return result


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    if not Path(lab_server.CHROMIUM).exists():
        pytest.skip(f"no Chromium at {lab_server.CHROMIUM} (apt-get install chromium)")
    reason = lab_server.missing_tools()
    if reason:
        pytest.skip(reason)
    out, secrets = tmp_path_factory.mktemp("walkthrough"), set()

    def keep_secrets(run: labs.LabRun) -> None:  # the batch's kubeconfig is gone once the batch ends
        parameters = json.loads(run.executed.read_text())["metadata"]["papermill"]["parameters"]
        secrets.update(kubeconfig_secrets(Path(parameters["kubeconfig"])))

    runs = labs.run(
        labs.all_labs(), out_dir=out, approve=True, html=True, parameters=SMALL, on_lab=keep_secrets
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    alone = tmp_path_factory.mktemp(ALONE) / f"{ALONE}.html"
    shutil.copyfile(runs[0].html, alone)
    shown = open_in_chromium([run.html for run in runs if run.html] + [alone], out)
    pages = {Path(page["file"]).stem: page for page in shown["pages"]}
    return runs, secrets, pages, shown["blocked"], pages.pop(ALONE)


def test_every_lab_ran_and_was_exported(batch):
    runs, _, pages, _, _ = batch
    assert [(run.lab.name, run.ok, run.error) for run in runs] == [
        (lab.name, True, "") for lab in labs.all_labs()
    ]
    assert set(pages) == {run.lab.name for run in runs}


def test_every_figure_of_every_notebook_is_drawn_on_its_page(batch):
    runs, _, pages, _, _ = batch
    for run in runs:
        cells = json.loads(run.executed.read_text())["cells"]
        figures = [o for c in cells for o in c.get("outputs", []) if rendering.MIMETYPE in o.get("data", {})]
        shown = pages[run.lab.name]["figures"]
        assert len(shown) == len(figures), run.lab.name
        assert all(f["plotted"] and f["svg"] for f in shown), (run.lab.name, [f["title"] for f in shown])
    assert sum(len(page["figures"]) for page in pages.values()) >= 17  # the series draws many


def test_the_output_folder_stays_small_with_plotlyjs_once(batch):
    runs, _, _, _, _ = batch
    folder = runs[0].executed.parent
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) <= MAX_OUTPUT_BYTES
    assert [path.name for path in files if path.name.startswith("plotly")] == [rendering.plotlyjs_name()]
    assert max(path.stat().st_size for path in files if not path.name.startswith("plotly")) < 1_000_000


def test_a_page_without_its_plotlyjs_says_so_in_place_of_each_figure(batch):
    runs, _, pages, _, alone = batch
    assert len(alone["figures"]) == len(pages[runs[0].lab.name]["figures"]) > 0
    for figure in alone["figures"]:
        assert not figure["svg"] and figure["note"].startswith("Figure not drawn:"), figure
        assert rendering.plotlyjs_name() in figure["note"]


def test_every_plot_drew_its_svg_with_ci_whiskers_on_every_bar(batch):
    _, _, pages, _, _ = batch
    for name, page in pages.items():
        assert page["errors"] == [], name
        for figure in page["figures"]:
            assert figure["svg"], f"{name}: figure {figure['title']!r} did not render"
            assert figure["errorbars"] == figure["bars"], f"{name}: {figure['title']!r} has bars without a CI"
    compared = [
        f
        for name in ("02-kube-proxy-replacement", "03-bpf-masquerade")
        for f in pages[name]["figures"]
        if "before and after" in f["title"]
    ]
    assert len(compared) == 2 and all(f["bars"] >= 6 for f in compared)  # 3 tests x before, after


def test_no_request_left_the_machine(batch):
    _, _, _, blocked, _ = batch
    assert blocked == []


def test_each_page_shows_its_decisions_and_the_simulated_label(batch):
    runs, _, pages, _, _ = batch
    for run in runs:
        text = pages[run.lab.name]["text"]
        assert "SIMULATED" in text, run.lab.name
        assert f"decision: {run.record['decision']}" in text, run.lab.name
        for node in (run.record.get("apply") or {}).get("nodes", []):
            assert node["node"] in text and node["outcome"] in text, (run.lab.name, node)
        assert all("SIMULATED" in f["title"] for f in pages[run.lab.name]["figures"])


def test_the_simulated_note_overlaps_no_title(batch):
    _, _, pages, _, _ = batch
    checked = 0
    for name, page in pages.items():
        for figure in page["figures"]:
            notes = [t for t in figure["texts"] if t["text"].startswith("SIMULATED:")]
            if figure["bars"]:  # the benchmark figures carry the note (the scorecard: its title only)
                assert len(notes) == 1, (name, figure["title"])
            checked += len(notes)
            for note in notes:
                for other in (t for t in figure["texts"] if t is not note):
                    assert not overlap(note["box"], other["box"]), (name, other["text"])
    assert checked >= 4  # before/after and latency in labs 02 and 03


def overlap(a: dict, b: dict) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def test_no_html_carries_a_token_or_kubeconfig_content(batch):
    runs, secrets, _, _, _ = batch
    assert any(len(secret) >= 16 for secret in secrets)  # the check below has something to look for
    for run in runs:
        html = run.html.read_text()
        leaked = [secret[:6] + "..." for secret in secrets if secret in html]
        assert leaked == [], f"{run.html.name} carries kubeconfig secrets {leaked}"


def test_screenshots_are_kept(batch):
    _, _, pages, _, _ = batch
    for page in pages.values():
        assert Path(page["shots"]["page"]).stat().st_size > 10_000
