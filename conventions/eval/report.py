"""The HTML form of `copilot-index eval`: a table and matplotlib charts embedded as PNG."""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from ..adapter.scoring import p_text


def paired_text(paired: dict[str, Any] | None) -> str:
    """A configuration's comparison with the base in a table cell: "3/1, p = 0.625" ("" for the base)."""
    if not paired:
        return ""
    return f"{paired['wins']}/{paired['losses']}, {p_text(paired['p_value'])}" + (" (clear)" if paired["clear"] else "")


def _chart(results: dict[str, Any], metric: str, title: str, percent: bool) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n, r in results.items() if metric in r]
    values = [results[n][metric] * (100 if percent else 1) for n in names]
    fig, ax = plt.subplots(figsize=(5, 3), dpi=100)
    bars = ax.bar(names, values, color=["#8c8c8c", "#4c72b0", "#dd8452", "#55a868"][: len(names)])
    ax.set_title(title)
    ax.set_ylabel("%" if percent else "ms")
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(f"{value:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def render_html(report: dict[str, Any]) -> str:
    results = report["configs"]
    rows = []
    for name, r in results.items():
        if "skipped" in r:
            rows.append(f"<tr><td>{html.escape(name)}</td><td colspan=7>{html.escape(r['skipped'])}</td></tr>")
        else:
            kinds = r.get("by_kind", {})
            per_kind = "".join(
                f"<td>{kinds[k]['exact_match']:.1%}</td>" if k in kinds else "<td></td>" for k in ("line", "span")
            )
            rows.append(
                f"<tr><td>{html.escape(name)}</td><td>{r['exact_match']:.1%}</td>{per_kind}"
                f"<td>{r['edit_similarity']:.3f}</td><td>{r['latency_p50_ms']:.0f}</td><td>{r['latency_p95_ms']:.0f}</td>"
                f"<td>{html.escape(paired_text(r.get('vs_base')))}</td></tr>"
            )
    charts = "".join(
        f'<img alt="{html.escape(title)}" src="data:image/png;base64,{_chart(results, metric, title, pct)}">'
        for metric, title, pct in [("exact_match", "Exact match", True), ("edit_similarity", "Edit similarity", True),
                                   ("latency_p50_ms", "Latency p50", False)]
    )
    adapter = report.get("adapter") or {}
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>copilot-index eval</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 10px;border-bottom:1px solid #ddd}}</style></head>
<body><h1>Fine-tune, train embeddings, or just retrieve?</h1>
<p>{html.escape(report["answer"])}</p>
<p>Repository {html.escape(report["repository"])} at {html.escape(str(report.get("commit")))};
model {html.escape(report["model"])}; adapter {html.escape(str(adapter.get("version", "none")))};
{report["held_out_samples"]} held-out samples (files never used for training).</p>
<table><tr><th>configuration</th><th>exact match</th><th>lines</th><th>spans</th><th>edit similarity</th>
<th>p50 ms</th><th>p95 ms</th><th>vs base: won / lost, sign test</th></tr>
{''.join(rows)}</table>
<div>{charts}</div></body></html>
"""
