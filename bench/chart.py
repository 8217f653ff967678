#!/usr/bin/env python3
"""Draws docs/bench/chart.svg from the docs/bench/*.json figures the bench scripts write: one
panel per benchmark, a bar per measured server (requests/s, each panel on its own scale), the
p99 latency beside it. Plain SVG, no plotting library needed."""
import html
import json
import pathlib
import sys

BENCH = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "docs/bench")
COLORS = {"service": "#2f6fb3", "reference": "#d08a2e", "ceiling": "#9a9a9a"}
W, LABEL_W, BAR_W, ROW_H, GAP = 880, 250, 450, 24, 14

panels = [json.loads(p.read_text()) for p in sorted(BENCH.glob("*.json"))]
y = 40
parts = []
for panel in panels:
    title = html.escape(panel["title"])
    target = html.escape(panel.get("target") or "")
    parts.append(f'<text x="10" y="{y}" class="t">{title}</text>')
    if target:
        parts.append(f'<text x="{W - 10}" y="{y}" class="n" text-anchor="end">target: {target}</text>')
    y += 12
    top = max(b["requests_per_s"] for b in panel["bars"]) or 1
    for bar in panel["bars"]:
        width = max(2, BAR_W * bar["requests_per_s"] / top)
        color = COLORS.get(bar["kind"], "#555")
        p99 = f', p99 {bar["p99_ms"]:.1f} ms' if bar.get("p99_ms") is not None else ""
        parts.append(f'<text x="{LABEL_W - 8}" y="{y + 16}" class="l" text-anchor="end">{html.escape(bar["label"])}</text>')
        parts.append(f'<rect x="{LABEL_W}" y="{y + 3}" width="{width:.1f}" height="{ROW_H - 6}" fill="{color}"/>')
        parts.append(f'<text x="{LABEL_W + width + 6:.1f}" y="{y + 16}" class="v">{bar["requests_per_s"]:,.1f}/s{p99}</text>')
        y += ROW_H
    y += GAP + 18
legend = " ".join(
    f'<rect x="{10 + i * 150}" y="{y - 10}" width="12" height="12" fill="{c}"/>'
    f'<text x="{28 + i * 150}" y="{y}" class="l">{k}</text>' for i, (k, c) in enumerate(COLORS.items()))
svg = f'''<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{y + 20}" viewBox="0 0 {W} {y + 20}" font-family="sans-serif">
<style>.t{{font-size:15px;font-weight:bold}} .l{{font-size:12px}} .v{{font-size:12px;fill:#333}} .n{{font-size:12px;fill:#666}}</style>
<text x="10" y="20" class="n">make bench: requests per second (each panel on its own scale); the last run of each benchmark</text>
{chr(10).join(parts)}
{legend}
</svg>
'''
(BENCH / "chart.svg").write_text(svg)
print(f"wrote {BENCH / 'chart.svg'} ({len(panels)} benchmarks)")
