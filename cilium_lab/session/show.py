"""Showing a step's result: rich output in a notebook, plain text on a terminal.

Every table or figure measured on a simulated cluster goes out with the SIMULATED banner.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


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


def figure(fig: Any) -> None:
    if fig is None:
        return
    if in_notebook():
        fig.show()
    else:
        print(f"[figure: {fig.layout.title.text or 'untitled'}]")


def html_or_text(obj: Any) -> None:
    """An object with `to_html()`/`to_text()` (plans, reports)."""
    if in_notebook() and hasattr(obj, "to_html"):
        from IPython.display import HTML, display

        display(HTML(obj.to_html()))
    elif hasattr(obj, "to_text"):
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
