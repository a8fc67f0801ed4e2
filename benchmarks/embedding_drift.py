"""Embedding drift of text outputs: false alarms, detection, and what it costs.

Uses the bundled all-MiniLM-L6-v2 (the `embeddings` extra) on the seeded synthetic support
replies of the tests (`tests/monitor/_texts.py`: a usual mix, and a mix where a share of replies
changed subject at the usual lengths). Pools of replies are embedded once; then, per seed, a
baseline (1,000 replies) and a day's window (150) are drawn without replacement and tested:

- false alarms: window from the usual mix;
- detection: window where 20% or 50% of the replies changed subject;

each at Watchkeeper's defaults (KS p < 0.01 per component, share 0.1) and at Evidently's "ratio"
defaults (p < 0.05, share 0.2) computed by the same code, side by side. Also: model load time,
embedding throughput on distinct texts, the per-window check time and the stored baseline size.

    .venv/bin/python benchmarks/embedding_drift.py [--seeds 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.monitor._texts import replies

from watchkeeper.monitor.embedder import load_embedder
from watchkeeper.monitor.embedding import embedding_drift, embedding_profile

SETTINGS = {"watchkeeper (p<0.01, 10%)": (0.01, 0.1), "evidently ratio (p<0.05, 20%)": (0.05, 0.2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--baseline", type=int, default=1000)
    parser.add_argument("--window", type=int, default=150)
    args = parser.parse_args()

    started = time.perf_counter()
    embedder = load_embedder()
    if embedder is None:
        sys.exit("the embedding model is not installed: make install")
    load_s = time.perf_counter() - started

    rng = np.random.default_rng(0)
    distinct = [f"{text} Reference {i:05d}." for i, text in enumerate(replies(rng, 2000))]
    started = time.perf_counter()
    embedder.embed(distinct)
    throughput = len(distinct) / (time.perf_counter() - started)

    pools = {
        share: embedder.embed(replies(rng, args.baseline + args.window + 1000, share))
        for share in (0.0, 0.2, 0.5)
    }
    usual = pools[0.0]
    counts = {name: {share: 0 for share in pools} for name in SETTINGS}
    largest_null = dict.fromkeys(SETTINGS, 0.0)
    check_ms = []
    for seed in range(args.seeds):
        order = np.random.default_rng(seed).permutation(len(usual))
        ref = embedding_profile(usual[order[: args.baseline]], embedder.name)
        for share, pool in pools.items():
            rows = order[args.baseline : args.baseline + args.window] if share == 0 else None
            if rows is None:
                rows = np.random.default_rng(1000 + seed).choice(len(pool), args.window, False)
            started = time.perf_counter()
            current = embedding_profile(pool[rows], embedder.name, reference=ref)
            for name, (p, limit) in SETTINGS.items():
                verdict = embedding_drift("reply", ref, current, share=limit, component_p=p)
                counts[name][share] += bool(verdict.drifted)
                if share == 0:
                    largest_null[name] = max(largest_null[name], verdict.score or 0.0)
            check_ms.append((time.perf_counter() - started) * 1000 / len(SETTINGS))
    stored_kb = len(json.dumps(ref.to_dict())) / 1024

    print(f"model load (import + weights): {load_s:.1f} s")
    print(f"embedding throughput, distinct replies: {throughput:.0f} texts/s")
    print(f"per-window check ({args.window} replies, profile + test): {np.median(check_ms):.0f} ms")
    print(f"stored baseline profile: {stored_kb:.0f} KiB")
    print(
        f"\n{args.seeds} seeds, baseline {args.baseline}, window {args.window}\n"
        "| setting | false alarms (same mix) | largest share, same mix "
        "| caught, 20% changed subject | caught, 50% changed subject |\n|---|---:|---:|---:|---:|"
    )
    for name in SETTINGS:
        c = counts[name]
        print(
            f"| {name} | {c[0.0]} / {args.seeds} | {largest_null[name]:.1%} "
            f"| {c[0.2]} / {args.seeds} | {c[0.5]} / {args.seeds} |"
        )


if __name__ == "__main__":
    main()
