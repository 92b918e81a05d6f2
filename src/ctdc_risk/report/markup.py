"""Write report sections as one self-contained HTML page or as Markdown.

A section is (id, title, blocks); a block is ("p", text) | ("ul", [items]) |
("table", (header, rows)) | ("img", (file name, alt text)). The HTML embeds its figures as
data URIs and its style inline: it opens offline by double-click, loads no script, font or
stylesheet from anywhere, and makes no request. The Markdown links the same figures from
``figures/``.
"""

from __future__ import annotations

import base64
import html
from typing import Any

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#222;line-height:1.5}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}th{background:#f3f3f3}
.risk{color:#D55E00;font-weight:600}.protective{color:#0072B2;font-weight:600}
.unclear{color:#666}.note{color:#555;font-size:.9rem}img{max-width:100%}
#summary{background:#f7f7f2;border-left:4px solid #009E73;padding:.5rem 1rem}
#banner{background:#fff3cd;border:2px solid #E69F00;padding:.5rem 1rem;font-weight:600}
@media print{body{margin:0}h2{page-break-after:avoid}img{page-break-inside:avoid}}
"""


# A section is (id, title, blocks); a block is ("p", text) | ("ul", [items]) |
# ("table", (header, rows)) | ("img", (file name, alt text)).
Section = tuple[str, str, list[tuple[str, Any]]]


def sections_html(
    title: str, sections: list[Section], figs: dict[str, bytes], *, note: str = ""
) -> str:
    """One self-contained HTML page: ``sections`` under ``title``, figures embedded; ``note`` is
    a banner above everything (generated data)."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ]
    if note:
        parts.insert(-1, f'<p id="banner" role="note">{esc(note)}</p>')
    for sid, title, blocks in sections:
        parts.append(f'<section id="{sid}"><h2>{esc(title)}</h2>')
        for kind, value in blocks:
            if kind == "p":
                parts.append(f"<p>{esc(value)}</p>")
            elif kind == "ul":
                parts.append("<ul>" + "".join(f"<li>{esc(v)}</li>" for v in value) + "</ul>")
            elif kind == "table":
                header, rows = value
                head = "".join(f"<th>{esc(str(h))}</th>" for h in header)
                body = "".join("<tr>" + "".join(_td(str(c)) for c in row) + "</tr>" for row in rows)
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
            elif kind == "img":
                name, alt = value
                data = base64.b64encode(figs[name]).decode("ascii")
                parts.append(f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">')
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _td(text: str) -> str:
    cls = text if text in ("risk", "protective", "unclear") else ""
    attr = f' class="{cls}"' if cls else ""
    return f"<td{attr}>{html.escape(text)}</td>"


def sections_markdown(title: str, sections: list[Section], *, note: str = "") -> str:
    """``sections`` under ``title`` as Markdown, figures linked from ``figures/``; ``note`` is a
    banner above everything (generated data)."""
    lines = [f"# {title}", ""]
    if note:
        lines += [f"> **{note}**", ""]
    for _, title, blocks in sections:
        lines += [f"## {title}", ""]
        for kind, value in blocks:
            if kind == "p":
                lines += [value, ""]
            elif kind == "ul":
                lines += [f"- {v}" for v in value] + [""]
            elif kind == "table":
                header, rows = value
                lines.append("| " + " | ".join(map(str, header)) + " |")
                lines.append("|" + "---|" * len(header))
                for row in rows:
                    lines.append("| " + " | ".join(str(c).replace("|", "/") for c in row) + " |")
                lines.append("")
            elif kind == "img":
                name, alt = value
                lines += [f"![{alt}](figures/{name})", ""]
    return "\n".join(lines)
