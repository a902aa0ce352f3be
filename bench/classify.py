"""Classification throughput of the pure core, on the labelled corpus repeated to N messages.

    python bench/classify.py [N]        (default 10000; `make bench-classify`)

Prints messages per second and CPU seconds per thousand messages for `prefilter` (headers only) and
`classify` (full messages), and writes the figures to bench/results/classify.json.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "daemon"))  # when introd is not installed in the running Python

from tests.corpus_loader import load_negatives, load_scenarios  # noqa: E402

from introd.classify import classify, prefilter  # noqa: E402
from introd.message import Message, Skipped, parse_headers, parse_message  # noqa: E402


def corpus() -> list[tuple[Message, Message, frozenset[str]]]:
    """(header-only record, full record, user addresses) for every corpus message."""
    out = []
    samples = [(s, frozenset({sc.user})) for sc in load_scenarios() for s in sc.samples]
    samples += [(s, frozenset({"alice@example.test"})) for s in load_negatives()]
    for sample, user in samples:
        raw = sample.path.read_bytes()
        head = parse_headers(raw.split(b"\n\n", 1)[0], folder=sample.folder)
        full = parse_message(raw, folder=sample.folder)
        if isinstance(head, Skipped) or isinstance(full, Skipped):
            raise SystemExit(f"{sample.path}: unparsable")
        out.append((head, full, user))
    return out


def measure(n: int) -> dict[str, float]:
    """CPU time of prefilter and classify over n messages."""
    base = corpus()
    items = [base[i % len(base)] for i in range(n)]
    start = time.process_time()
    for head, _full, user in items:
        prefilter(head, user)
    pre = time.process_time() - start
    start = time.process_time()
    for _head, full, user in items:
        classify(full, user)
    cls = time.process_time() - start
    return {
        "messages": n,
        "prefilter_per_s": n / pre if pre else float("inf"),
        "classify_per_s": n / cls if cls else float("inf"),
        "classify_cpu_s_per_1000": cls / n * 1000,
    }


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    result: dict[str, object] = dict(measure(n))
    result["machine"] = f"{platform.machine()} {platform.python_implementation()} {platform.python_version()}"
    print(f"{'what':<32}{'value':>14}")
    print(f"{'messages (corpus, repeated)':<32}{n:>14,}")
    print(f"{'prefilter, messages/s':<32}{result['prefilter_per_s']:>14,.0f}")
    print(f"{'classify, messages/s':<32}{result['classify_per_s']:>14,.0f}")
    print(f"{'classify, CPU s per 1,000':<32}{result['classify_cpu_s_per_1000']:>14.3f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "classify.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
