"""Draw the Grafana dashboard's panels from a real Prometheus's answers (no Grafana here).

Starts the local control plane, tfguard and a Prometheus scraping it (harness.monitoring), puts
tfguard under a few waves of load, asks Prometheus for every panel query of
charts/tfguard/dashboards/tfguard.json over that time (query_range) and draws the panels with
matplotlib into docs/images/dashboard.png, with the query results beside it as JSON.

    python tools/dashboard_picture.py [--out docs/images/dashboard.png] [--waves 6]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def collect(waves: int, pause: float) -> tuple[list[dict], float, float]:
    from harness.controlplane import ControlPlane
    from harness.monitoring import Monitoring, dashboard_queries
    from tfguard.progress import Progress

    with tempfile.TemporaryDirectory(prefix="tfguard-dashboard-") as tmp, ControlPlane() as cp:
        with Monitoring(cp, Path(tmp)) as mon:
            started = time.time()
            with Progress(waves, "load waves") as progress:
                mon.load(reviews=150, big=0, waves=1)
                progress.advance()
                for wave in range(1, waves):
                    time.sleep(pause)
                    # the middle wave has reviews too large to judge in time: they fail open
                    mon._reviews(150 + 50 * wave, 12 if wave == waves // 2 else 0)
                    progress.advance()
            time.sleep(pause)
            ended = time.time()
            panels = []
            queries = dashboard_queries()
            with Progress(len(queries), "querying Prometheus") as progress:
                for title, legend, expr in queries:
                    panels.append({"title": title, "legend": legend, "expr": expr,
                                   "result": mon.query_range(expr, started, ended, step=2)})
                    progress.advance(note=title)
    return panels, started, ended


def _label(legend: str, metric: dict) -> str:
    text = legend
    for key, value in metric.items():
        text = text.replace("{{" + key + "}}", value)
    return text.replace("{{", "").replace("}}", "") or ",".join(f"{k}={v}" for k, v in metric.items() if k != "__name__")


def draw(panels: list[dict], started: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = list(dict.fromkeys(p["title"] for p in panels))
    rows = (len(titles) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(14, 2.8 * rows), squeeze=False)
    fig.suptitle("tfguard dashboard, drawn from a real Prometheus scraping tfguard under load", fontsize=13)
    for ax, title in zip(axes.flat, titles):
        for panel in (p for p in panels if p["title"] == title):
            for series in panel["result"]:
                points = [(float(t) - started, float(v)) for t, v in series["values"] if v not in ("NaN", "+Inf", "-Inf")]
                if points:
                    xs, ys = zip(*points)
                    ax.plot(xs, ys, label=_label(panel["legend"], series["metric"]), linewidth=1.4)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("seconds", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="upper left")
    for ax in list(axes.flat)[len(titles):]:
        ax.axis("off")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "dashboard.png")
    parser.add_argument("--waves", type=int, default=6)
    parser.add_argument("--pause", type=float, default=8.0, help="seconds between waves")
    args = parser.parse_args(argv)
    panels, started, _ = collect(args.waves, args.pause)
    draw(panels, started, args.out)
    data = args.out.with_suffix(".json")
    data.write_text(json.dumps({"started": started, "panels": panels}, indent=1) + "\n")
    empty = [p["title"] + ": " + p["expr"] for p in panels if not p["result"]]
    print(f"wrote {args.out} and {data}; {len(panels)} queries, {len(empty)} without data")
    for line in empty:
        print(f"  no data: {line}")
    return 1 if empty else 0


if __name__ == "__main__":
    sys.exit(main())
