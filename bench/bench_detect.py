"""Detection latency on the real lab: fault injected -> the pause request (on_event).

    sudo PMU_LAB_INSTANCE=N .venv/bin/python bench/bench_detect.py [--trials 10]
        [--interval 5] [--faults move,kill-service,crash] [--keep]

Two paths, each with the embedded watcher (detect.watcher.watch) at the sensor's default
poll interval (5 s):
- polling: crm_mon over SSH only;
- alert:   plus the alert agent installed by the pack's install_alert_agent action (real
           cibadmin, real curl on the nodes) POSTing to the watcher's AlertListener on the
           lab's root bridge address (pmlab.consts.ROOT_ADDR) and nowhere else.
Faults (>= --trials each, per path):
- move:          `crm_resource --move` of web-group by hand, alternating nodes;
- kill-service:  SIGKILL the web server on the node running it (Pacemaker's 5 s monitor
                 has to notice first), failures cleaned up after each trial;
- crash:         SIGKILL the PID 1 of the node running the service (corosync's token
                 timeout has to expire first), powered on again after each trial.
The clock starts right before the fault command and stops when the watcher hands the first
unexpected_failover to on_event: the point where pause_update (st2 rule) or the embedded
runner would request the pause. Between trials the cluster is settled and the watcher quiet
for a poll interval. Writes the <!-- bench:detect --> section of docs/BENCHMARKS.md and
tears the lab down at the end (unless --keep).
"""

import argparse
import importlib.util
import os
import random
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lab"), str(ROOT / "actions" / "lib")]

from pacemaker_update.config import load_config_file  # noqa: E402
from pacemaker_update.detect import MemoryLedgerStore  # noqa: E402
from pacemaker_update.detect.install import delete_alert_argv  # noqa: E402
from pacemaker_update.detect.watcher import watch  # noqa: E402
from pmlab import consts, testing  # noqa: E402

BENCH = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- bench:detect -->", "<!-- /bench:detect -->"
FAULTS = ("move", "kill-service", "crash")
Trial = Tuple[float, str, str]  # latency s, event kind, source (poll/alert)


def install_agent(config_path: Path, url: str) -> None:
    """Run the pack's install_alert_agent action against the lab."""
    path = ROOT / "actions" / "install_alert_agent.py"
    spec = importlib.util.spec_from_file_location("iaa", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    import yaml
    cfg = yaml.safe_load(config_path.read_text())
    ok, out = module.InstallAlertAgent(config=cfg).run(cluster="lab", recipient_url=url)
    if not ok:
        raise SystemExit(f"install_alert_agent failed: {out['error']}")


def service_node(lab: Any) -> str:
    """Where web-group's vip runs now."""
    return lab.summary()["resources"]["vip"][0]


class Recorder:
    """on_event for the watcher: times the first unexpected event after arming."""

    def __init__(self) -> None:
        self.hit, self.lock = threading.Event(), threading.Lock()
        self.armed, self.t0, self.last_event = False, 0.0, time.monotonic()
        self.result: Trial = (0.0, "", "")

    def arm(self) -> None:
        """Start the clock (right before the fault)."""
        with self.lock:
            self.hit.clear()
            self.t0, self.armed = time.monotonic(), True

    def __call__(self, item: Any) -> None:
        now = time.monotonic()
        with self.lock:
            self.last_event = now
            if self.armed and item.trigger.endswith("unexpected_failover"):
                self.result = (now - self.t0, str(item.payload.get("kind")),
                               str(item.payload.get("source")))
                self.armed = False
                self.hit.set()

    def wait_quiet(self, quiet: float, limit: float = 90) -> None:
        """Until no event was reported for ``quiet`` seconds (recovery noise is over)."""
        end = time.monotonic() + limit
        while time.monotonic() < end and time.monotonic() - self.last_event < quiet:
            time.sleep(0.2)


def recover_move(lab: Any, node: str) -> None:
    """Nothing to undo: the next trial moves it back."""
    lab.wait_settled(service_node=node)


def recover_kill(lab: Any, node: str) -> None:
    """Clean the failure up (migration-threshold is 3: failures must not add up)."""
    lab.wait_settled(service_node=node)
    lab.exec(node, ["crm_resource", "--cleanup", "--resource", "web"])
    lab.wait_settled(service_node=node)


def recover_crash(lab: Any, node: str) -> None:
    """Boot the node again and wait until it is back in the cluster."""
    lab.poweron(node)
    lab.wait_settled(timeout=120)


def inject(lab: Any, fault: str, where: str, other: str) -> None:
    """Inject one fault; ``where`` runs the service, ``other`` is the other node."""
    if fault == "move":
        lab.move("web-group", other)
    elif fault == "kill-service":
        lab.kill_service(where)
    else:
        lab.crash(where)


def recover(lab: Any, fault: str, where: str, other: str) -> None:
    """Undo one fault (see recover_*)."""
    if fault == "move":
        recover_move(lab, other)
    elif fault == "kill-service":
        recover_kill(lab, where)
    else:
        recover_crash(lab, where)


def run_trials(lab: Any, rec: Recorder, fault: str, count: int, interval: float) -> List[Trial]:
    """``count`` trials of one fault under the running watcher."""
    out: List[Trial] = []
    for _ in range(count):
        where = service_node(lab)
        other = next(n for n in lab.nodes if n != where)
        # A random phase against the poll cycle: otherwise every trial starts the same
        # time after the last event (wait_quiet), i.e. at the same point of the cycle.
        time.sleep(random.uniform(0, interval))
        rec.arm()
        inject(lab, fault, where, other)
        if not rec.hit.wait(60):
            raise SystemExit(f"{fault}: no unexpected event within 60 s")
        out.append(rec.result)
        print(f"  {fault}: {rec.result[0]:.2f} s ({rec.result[1]} via {rec.result[2]})",
              flush=True)
        recover(lab, fault, where, other)
        rec.wait_quiet(interval + 1.5)
    return out


def measure_path(lab: Any, interval: float, count: int, alerts: bool,
                 faults: List[str]) -> Dict[str, List[Trial]]:
    """One watcher (with or without the alert agent), every fault ``count`` times."""
    lab.reset()
    cluster = load_config_file(lab.state_dir / "config.yaml").cluster("lab")
    rec, stop, urls, listening = Recorder(), threading.Event(), [], threading.Event()
    thread = threading.Thread(target=watch, daemon=True, kwargs=dict(
        cluster_config=cluster, interval=interval, on_event=rec, stop_event=stop,
        ledger=MemoryLedgerStore(), listen=(consts.ROOT_ADDR, 0) if alerts else None,
        on_listening=lambda u: (urls.append(u), listening.set())))
    thread.start()
    try:
        if alerts:
            if not listening.wait(10):
                raise SystemExit("the alert listener did not start")
            install_agent(lab.state_dir / "config.yaml", urls[0])
        rec.wait_quiet(interval + 1.5)
        return {fault: run_trials(lab, rec, fault, count, interval) for fault in faults}
    finally:
        stop.set()
        thread.join(15)
        if alerts:
            lab.exec(lab.nodes[0], delete_alert_argv())


def goal_met(path: str, values: List[Trial], interval: float) -> str:
    """The issue's goal for this row: max under 2 s (alerts), under interval + 1 s (polling)."""
    limit = 2.0 if path != "polling" else interval + 1.0
    worst = max(v[0] for v in values)
    return f"{'yes' if worst < limit else 'no'} (< {limit:g} s)"


NOTES = [
    "The goal (issue 6) is measured from the injected fault, so it includes Pacemaker's own "
    "detection: a killed service is noticed by the next `web` monitor (up to 5 s) and a "
    "crashed node after the corosync token (3 s) and consensus; no watcher can report "
    "either earlier. `move` is the fault the watcher alone decides.",
    "A 5th alert-path trial of an earlier run saw no event for 60 s: the de-duplication "
    "remembered each change's fingerprint for 30 s and dropped a repeat from the alert path, "
    "so moving the service back and away again within 30 s was swallowed by both paths "
    "(the alert as a copy of the earlier alert, the poll as the alert's counterpart). Since "
    "21cb9c9 a counterpart pairs once, alert copies count only within 5 s, and a poll forgets "
    "the alerts it has covered (tests/unit/test_detect_dedup.py).",
]


def write_section(rows: List[Tuple[str, str, List[Trial]]], interval: float) -> None:
    """Create or replace only the bench:detect section."""
    lines = [START, "### Unexpected-failover detection latency (bench/bench_detect.py)", "",
             f"Lab: 2 nodes, crmsh, corosync token 3000 ms, `web` monitor every 5 s; "
             f"poll interval {interval:g} s (the sensor's default). Latency = injected fault "
             "-> first unexpected_failover handed to on_event (where the pause is "
             "requested); the last column counts which event, from which path, came first.",
             f"Run of {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, "
             f"PMU_LAB_INSTANCE={consts.INSTANCE}, load average "
             f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())} at the end (2 shared CPUs).",
             "", "| path | fault | trials | median s | max s | goal met (max) | "
             "first event (kind via source) |", "|---|---|---|---|---|---|---|"]
    for path, fault, values in rows:
        lat = [v[0] for v in values]
        kinds: Dict[str, int] = {}
        for _, kind, source in values:
            kinds[f"{kind} via {source}"] = kinds.get(f"{kind} via {source}", 0) + 1
        seen = ", ".join(f"{k} ×{n}" for k, n in sorted(kinds.items()))
        lines.append(f"| {path} | {fault} | {len(lat)} | {statistics.median(lat):.2f} | "
                     f"{max(lat):.2f} | {goal_met(path, values, interval)} | {seen} |")
    lines += [""] + NOTES + [END]
    text = BENCH.read_text() if BENCH.exists() else "# Benchmarks\n"
    section = "\n".join(lines)
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + section + "\n")
    BENCH.write_text(text)


def main() -> None:
    """Bring up (or reuse) the lab, measure both paths, write the table, tear down."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--faults", default=",".join(FAULTS))
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    args = parser.parse_args()
    faults = [f for f in args.faults.split(",") if f]
    if not set(faults) <= set(FAULTS):
        raise SystemExit(f"--faults: choose from {', '.join(FAULTS)}")
    lab = testing.bring_up(2, "crmsh", False)
    rows: List[Tuple[str, str, List[Trial]]] = []
    try:
        for path, alerts in (("polling", False), ("alert agent", True)):
            print(f"{path}:", flush=True)
            for fault, values in measure_path(lab, args.interval, args.trials, alerts,
                                              faults).items():
                rows.append((path, fault, values))
        for path, fault, values in rows:
            lat = [v[0] for v in values]
            print(f"{path:12} {fault:13} n={len(lat)} median {statistics.median(lat):.2f} s"
                  f"  max {max(lat):.2f} s")
        write_section(rows, args.interval)
    finally:
        if not args.keep:
            left = lab.down()
            if left:
                print(f"lab down left: {left}", file=sys.stderr)


if __name__ == "__main__":
    main()
