"""nbconvert's HTMLExporter without its second parse of the page: the accessibility attributes it adds are
written by a pass over the tags that take them.

nbconvert 7.17's `HTMLExporter.from_notebook_node` (nbconvert/exporters/html.py) registers the
`highlight_code` and `filter_data_type` filters, renders the template, and then parses the whole page
with BeautifulSoup only to give every `<img>` without `alt` a placeholder text and every
`.jp-Notebook div.jp-Cell-inputWrapper` / `div.jp-OutputArea-output` a `tabindex="0"` (keyboard focus),
and serializes the tree again: two fifths of an export's CPU for a ~390 kB page, most of it the
template's CSS. `Exporter` does the same without the tree: `accessible` finds the `<div>` and `<img>`
start tags of the page's body (outside scripts, styles and comments) with one regular expression.
tests/test_export.py compares its pages with the stock HTMLExporter's, so a newer nbconvert whose
`from_notebook_node` does more fails there instead of being silently left out.
"""

from __future__ import annotations

import re
from typing import Any

from nbconvert import HTMLExporter
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

NO_ALT = "No description has been provided for this image"  # nbconvert's text, word for word
FOCUSABLE = frozenset({"jp-Cell-inputWrapper", "jp-OutputArea-output"})  # the classes nbconvert selects

# no "<" in a name or an unquoted value (HTML allows one, well-formed pages have none): a tag left open
# then ends its match at the next tag instead of scanning the rest of the page, once per open tag
_ATTRIBUTE = r"""[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>]+))?"""
# what the HTML tokenizer does not read as tags (script and style text, comments; one left open runs to the
# end of the page, as it does for a browser), or a <div>/<img> start tag
_TAG = re.compile(
    rf"<(script|style)\b.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)|<(div|img)((?:\s+{_ATTRIBUTE})*)\s*(/?)>",
    re.S | re.I,
)
_ATTRIBUTES = re.compile(rf"\s+({_ATTRIBUTE})")


class Exporter(HTMLExporter):  # type: ignore[misc]
    """HTMLExporter whose pages carry the same markup, without BeautifulSoup."""

    def from_notebook_node(  # type: ignore[override]
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        """HTMLExporter.from_notebook_node: the same filters, then `accessible` in place of the soup."""
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources
        )
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        html, missing_alt = accessible(html)
        if missing_alt:
            self.log.warning("Alternative text is missing on %s image(s).", missing_alt)
        return html, resources


def accessible(page: str) -> tuple[str, int]:
    """`page` with `alt` text on each image of its body that has none and `tabindex="0"` on each input and
    output div, and how many images lacked `alt`. The head (the template's CSS) holds neither."""
    start = page.find("<body")
    if start < 0:
        start = 0
    missing = 0

    def attributes(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(2)
        if name is None:  # script, style or comment: left as it is
            return match.group(0)
        attrs = [m.group(1) for m in _ATTRIBUTES.finditer(match.group(3))]
        names = [a.split("=", 1)[0].strip().lower() for a in attrs]
        if name.lower() == "img":
            if "alt" in names:
                return match.group(0)
            missing += 1
            attrs.append(f'alt="{NO_ALT}"')
        else:
            classes = next((_value(a) for a, n in zip(attrs, names, strict=True) if n == "class"), "")
            if FOCUSABLE.isdisjoint(classes.split()):
                return match.group(0)
            attrs = [a for a, n in zip(attrs, names, strict=True) if n != "tabindex"] + ['tabindex="0"']
        return f"<{name} {' '.join(attrs)}{match.group(4)}>"

    return page[:start] + _TAG.sub(attributes, page[start:]), missing


def _value(attribute: str) -> str:
    """The value of `name="value"` (or 'value', or value)."""
    _, _, value = attribute.partition("=")
    value = value.strip()
    return value[1:-1] if value[:1] in ("'", '"') else value
