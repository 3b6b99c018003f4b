"""Profile the embedded runner's own time on the update_cluster dry run (bench_scale).

    .venv/bin/python bench/profile_runner.py [NODES] [SORT] [FILTER]
    .venv/bin/python bench/profile_runner.py 2 tottime
    .venv/bin/python bench/profile_runner.py 4 cumulative pacemaker_update

Runs ``bench_scale.plan_engine`` once to warm the caches, then once more with cProfile
enabled in the main thread and in every worker thread (the runner drives actions from a
thread pool, so a main-thread profile misses them), and prints the merged statistics.
Profiled times are inflated (about 3x); use the ratios, and bench_scale for figures.
"""

import contextlib
import cProfile
import os
import pstats
import sys
import threading
import time
from typing import Any, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "actions", "lib"))

import bench_scale  # noqa: E402
import pacemaker_update.transport as transport_pkg  # noqa: E402


def profile_run(nodes: int) -> pstats.Stats:
    """One warm dry run of ``nodes`` nodes under cProfile (all threads merged)."""
    transport_pkg.SSHTransport = bench_scale.RecordingTransport  # type: ignore[misc,assignment]
    bench_scale.plan_engine(nodes, 200, 300)  # warm: imports, inspection, graph caches
    profiles: List[cProfile.Profile] = []
    original = threading.Thread.run

    def run(self: Any) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()
        try:
            original(self)
        finally:
            profile.disable()

    threading.Thread.run = run  # type: ignore[method-assign]
    main = cProfile.Profile()
    profiles.append(main)
    start = time.perf_counter()
    main.enable()
    try:
        result = bench_scale.plan_engine(nodes, 200, 900)
    finally:
        main.disable()
        threading.Thread.run = original  # type: ignore[method-assign]
    print("wall {:.2f} s, status {}, run {:.2f} s, {} tasks, inside actions {:.2f} s".format(
        time.perf_counter() - start, result["status"], result["run_s"], result["tasks"],
        result["inside_s"]))
    stats = pstats.Stats(main)
    for profile in profiles[:-1]:
        with contextlib.suppress(TypeError):  # a thread that never ran its profile
            stats.add(profile)
    return stats


def main() -> None:
    """Print the merged profile, sorted and filtered as asked."""
    nodes = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    sort = sys.argv[2] if len(sys.argv) > 2 else "tottime"
    restriction = sys.argv[3] if len(sys.argv) > 3 else ""
    profile_run(nodes).sort_stats(sort).print_stats(restriction, 40)


if __name__ == "__main__":
    main()
