"""Showing a step's result: rich output in a notebook, plain text on a terminal.

Every table or figure measured on a simulated cluster goes out with the SIMULATED banner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import pandas as pd

if TYPE_CHECKING:
    from plotly.graph_objects import Figure


@runtime_checkable
class Text(Protocol):
    """A result that prints itself: plans and apply reports."""

    def to_text(self) -> str: ...


@runtime_checkable
class Html(Protocol):
    """A result that also renders itself for a notebook."""

    def to_html(self) -> str: ...


def in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def markdown(text: str) -> None:
    if in_notebook():
        from IPython.display import Markdown, display

        display(Markdown(text))
    else:
        print(text)


def table(frame: pd.DataFrame, caption: str = "") -> None:
    if in_notebook():
        from IPython.display import display

        if caption:
            markdown(caption)
        # Styler ignores DataFrame.round for display: set the precision here
        display(frame.style.hide(axis="index").format(precision=2) if len(frame) else frame)
    else:
        if caption:
            print(caption)
        print(frame.to_string(index=False) if len(frame) else "(nothing)")


def figure(fig: Figure | None) -> None:
    if fig is None:
        return
    if in_notebook():
        from cilium_lab.ui import rendering

        rendering.show(fig)
    else:
        print(f"[figure: {fig.layout.title.text or 'untitled'}]")


def html_or_text(obj: object) -> None:
    """An object with `to_html()`/`to_text()` (plans, reports)."""
    if in_notebook() and isinstance(obj, Html):
        from IPython.display import HTML, display

        display(HTML(obj.to_html()))
    elif isinstance(obj, Text):
        print(obj.to_text())
    else:
        print(obj)


def banner(label: str) -> str:
    """The line that goes above every measurement from a simulated or local target."""
    if label == "SIMULATED":
        return "**SIMULATED**: measured on the embedded cluster's performance model, not on real hardware."
    if label == "LOCAL KERNEL":
        return "**LOCAL KERNEL**: real packets between network namespaces on this host, not a cluster."
    return ""
