"""The soak profile's chart (issue 19): server RSS over time per back end, one panel per workload, the warm-up shaded
and the fitted slope in the legend. charts.py calls draw(charts) in its draw_all; the warm-up and the slope come from
bench/bench_all/soak.py, so the chart shows exactly what the row was judged on."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench", "bench_all"))
import soak  # noqa: E402
import tvt_results as tr  # noqa: E402


def draw(charts) -> None:
    """`charts`: charts.Charts (its results, save and skip)."""
    import matplotlib.pyplot as plt

    rows = [r for r in charts.r.rows if r.get("mode") == "soak" and r.get("timeline")]
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    if not workloads:
        return charts.skip("soak_rss", "no soak rows with a timeline")
    fig, axes = plt.subplots(len(workloads), 1, figsize=(9, 3.6 * len(workloads)), squeeze=False)
    warmup_end = 0.0
    for ax, workload in zip(axes[:, 0], workloads):
        ours = sorted((r for r in rows if r["workload"] == workload), key=lambda r: charts.r.order_key(r["backend"]))
        for row in ours:
            samples = soak.read_timeline(os.path.join(charts.r.folder, row["timeline"]))
            if not samples:
                continue
            per_min, _ = soak.rss_slopes(samples)
            warmup_end = max(warmup_end, soak.warmup_seconds(soak.under_load(samples)))
            slope = f"{per_min / 1024:+.1f} KiB/min" if per_min is not None else "slope n/a"
            name = row["backend"] + ("+" + row["variant"] if row.get("variant") else "")
            ax.plot([s["second"] / 60 for s in samples], [s["server_rss_bytes"] / 1048576 for s in samples],
                    label=f"{name} ({slope}, {row['status']})", color=tr.colour(name),
                    linestyle="--" if "+" in name else "-", linewidth=1.2)
        ax.axvspan(0, warmup_end / 60, color="#ddd", alpha=0.5, label="warm-up (not fitted)")
        ax.set_ylabel(f"{workload}: server RSS (MiB)")
        ax.set_ylim(bottom=0)
        ax.legend(loc="lower right", fontsize=7)
    axes[-1, 0].set_xlabel("minute of the soak")
    fig.suptitle("Soak: server RSS over time (a leak is a slope, not a level)")
    fig.tight_layout()
    charts.save(fig, "soak_rss", "Soak: server RSS over time",
                "Server RSS each second of each back end's soak (http: open-loop load over 10,000 connections plus "
                "connection churn; chat: groups), the warm-up shaded; the legend gives the least-squares slope after "
                "the warm-up that the row is judged on.")
