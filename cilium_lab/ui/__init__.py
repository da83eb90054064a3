"""What a lab notebook shows: the Apply / Cancel confirmation (`confirm`), plotly figures of results and
the scorecard (`figures`, `scorecard_figure`), progress of long measurements (`progress`) and figures
that render both in JupyterLab and in offline HTML (`rendering`).
"""
