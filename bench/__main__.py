"""`python -m bench`: run every benchmark, print each ratio next to its target, write bench/results/latest.json.

Each benchmark measures the project and its reference in the same run (this machine is noisy), so the
ratios are what to compare; the absolute figures are context.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    ack_latency,
    burst,
    dashboard,
    demo_seed,
    digest,
    e2e_latency,
    history_import,
    ingest,
    memory,
    topics,
    vip_lookup,
    vip_typos,
    voc,
)

BENCHMARKS = {"ack_latency": ack_latency.run, "ingest": ingest.run, "burst": burst.run,
              "e2e_latency": e2e_latency.run, "digest": digest.run, "dashboard": dashboard.run, "vip_lookup": vip_lookup.run,
              "vip_typos": vip_typos.run, "memory": memory.run, "voc": voc.run,
              "history_import": history_import.run, "topics": topics.run, "demo_seed": demo_seed.run}
RESULTS = Path(__file__).with_name("results")


def headline(name: str, result: dict) -> str:
    """One line: the measured ratio or figure next to its target."""
    def pair(db: dict | str, key: str = "ratio") -> str:
        return db if isinstance(db, str) else f"{db[key]}x"
    figures = {
        "ack_latency": lambda r: (f"claim p99 {r['claim_ms']['p99']} ms (bare {r['bare_ms']['p99']} ms, "
                                  f"{r['ratio_p99']}x), p50 {r['claim_ms']['p50']} ms"),
        "ingest": lambda r: (f"SQLite {r['sqlite']['items_per_s']} items/s "
                             f"({'meets' if r['sqlite_meets_items_per_s'] else 'BELOW'} {ingest.SQLITE_TARGET_PER_S}/s; "
                             f"{r['sqlite']['analysed']['with_sentiment']} of {r['sqlite']['analysed']['items']} "
                             f"analysed) = {r['sqlite']['ratio']}x bare; Postgres "
                             + (r["postgres"] if isinstance(r["postgres"], str) else
                                f"{r['postgres']['items_per_s']} items/s = {r['postgres']['ratio']}x bare")),
        "burst": lambda r: (f"{r['msgs_per_s']} msg/s = {r['ratio']}x the limit, lost {r['lost']}, "
                            f"duplicates {r['duplicates']}, 429s {r['surplus_429s']}"),
        "e2e_latency": lambda r: f"median {r['median_ms']} ms, p95 {r['p95_ms']} ms",
        "digest": lambda r: f"{r['ratio']}x ({r['p50_ms_1m']} ms vs {r['p50_ms_10k']} ms)",
        "dashboard": lambda r: (f"{r['ratio']}x ({r['p50_ms_1m']} ms vs {r['p50_ms_10k']} ms); 1M: 12 weeks "
                                f"{r['p50_ms_1m_12_weeks']} ms, a year by theme {r['p50_ms_1m_year_theme_filter']} ms"),
        "vip_lookup": lambda r: "; ".join(
            f"{db}: " + (r[db] if isinstance(r[db], str) else
                         f"fuzzy {r[db]['fuzzy']['ratio']}x, exact {r[db]['exact']['ratio']}x")
            for db in ("sqlite", "postgres")),
        "vip_typos": lambda r: "; ".join(
            f"{db}: " + (r[db] if isinstance(r[db], str) else
                         f"top-1 {r[db]['top1']:.1%}, top-3 {r[db]['top3']:.1%} of {r[db]['queries']}")
            for db in ("sqlite", "postgres", "sqlite_100k")),
        "history_import": lambda r: (f"{r['import_rows_per_s']} rows/s vs {r['webhook_items_per_s']} webhooks/s: "
                                     f"{r['ratio']}x (every comment unique: {r['unique_comments']['ratio']}x); re-run unchanged {r['rerun']['unchanged']}, lost {r['lost']}, "
                                     f"duplicated {r['duplicated']}"),
        "demo_seed": lambda r: "; ".join(
            f"{db}: " + (r[db] if isinstance(r[db], str) else
                         f"{r[db]['items']} items, {r[db]['accounts']} accounts in {r[db]['seconds']} s")
            for db in ("sqlite", "postgres")),
        "memory": lambda r: f"+{r['growth_mb']} MB after {r['items']} items ({r['start_mb']} -> {r['end_mb']} MB)",
        "voc": lambda r: r["skipped"] if "skipped" in r else (
            f"UCI macro-F1 {r['new']['uci']['macro_f1']} (was {r['old']['uci']['macro_f1']}), negatives "
            f"{r['new']['uci']['negatives_caught']} (was {r['old']['uci']['negatives_caught']}); Maalej F1 bugs "
            f"{r['new']['maalej_bugs']['f1']} (was {r['old']['maalej_bugs']['f1']}), features "
            f"{r['new']['maalej_features']['f1']} (was {r['old']['maalej_features']['f1']}); "
            f"{r['new']['comments_per_s']} comments/s"),
        "topics": lambda r: (f"{r['seconds']} s over {r['comments']:,} comments ({r['cpu_seconds']} s CPU, "
                             f"{len(r['topics'])} topics); similar at render p50 {r['similar_render_ms_p50']} ms "
                             f"({r['similar_render_cpu_ms_p50']} ms CPU; first {r['similar_render_ms_first']} ms)"),
    }
    figure = figures[name](result) if name in figures else pair(result)
    return f"{name:12} {'met' if result['met'] else 'MISSED':7} {figure}   [target: {result['target']}]"


def main(args: list[str]) -> int:
    # `voc` takes the data set folder as the argument after it: python -m bench voc ../shared/data/voc
    names, voc_dir = [], None
    for arg in args:
        if arg not in BENCHMARKS and names and names[-1] == "voc" and voc_dir is None:
            voc_dir = arg
        else:
            names.append(arg)
    chosen = names or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report = {"date": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "results": {}}
    for name in chosen:
        print(f"running {name} …", flush=True)
        result = BENCHMARKS[name](voc_dir) if name == "voc" else BENCHMARKS[name]()
        report["results"][name] = result
        print(json.dumps(result, indent=2))
        if name == "voc":
            print(voc.table(result))
        print(headline(name, result), flush=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    print(f"\n{report['date']}, {report['machine']}")
    for name, result in report["results"].items():
        print(headline(name, result))
    print(f"\nwritten {RESULTS / 'latest.json'} ({report['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
