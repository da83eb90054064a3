"""Go's text/tabwriter column alignment, as `cilium status` prints through it.

The in-agent CLI writes its status through
`tabwriter.NewWriter(os.Stdout, 2, 0, 3, ' ', 0)` (cilium-dbg/cmd/status.go) and its detail tables
through `NewWriter(w, 0, 0, 3, ' ', 0)`. The rules reproduced here are Go's: cells end at a tab, the
last cell of a line is not part of a column, and a column block is a run of consecutive lines that
all have a cell in that column; each block is as wide as its widest cell plus the padding. So a line
without a tab (a table row, a heading) ends every block, which is why the label column is wider in
some outputs than in others (reference B.1, B.3).
"""

from __future__ import annotations


def align(text: str, minwidth: int = 2, padding: int = 3) -> str:
    """Format `text` (lines with tab-separated cells) as Go's tabwriter with padchar ' ' and no flags."""
    lines = [line.split("\t") for line in text.split("\n")]
    widths: list[int] = []
    out: list[str] = []
    _format(lines, 0, len(lines), widths, out, minwidth, padding)
    return "\n".join(out)


def _format(
    lines: list[list[str]],
    line0: int,
    line1: int,
    widths: list[int],
    out: list[str],
    minwidth: int,
    padding: int,
) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _write(lines, line0, this, widths, out)
        line0 = this
        width = minwidth
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, len(lines[this][column]) + padding)
            this += 1
        widths.append(width)
        _format(lines, line0, this, widths, out, minwidth, padding)
        widths.pop()
        line0 = this
    _write(lines, line0, line1, widths, out)


def _write(lines: list[list[str]], line0: int, line1: int, widths: list[int], out: list[str]) -> None:
    for cells in lines[line0:line1]:
        text = ""
        for j, cell in enumerate(cells):
            if j < len(cells) - 1 and j < len(widths):
                text += cell.ljust(widths[j])
            else:
                text += cell
        out.append(text)
