"""Detection latency on the real lab: fault injected -> unexpected_failover dispatched.

    sudo .venv/bin/python bench/bench_detect.py [--trials 10] [--interval 5]

Two paths, >= 10 trials each, the fault being a hand move of the service group (alternating
server1 <-> server2, as `lab/lab move` does):
- polling: the embedded watcher (detect.watcher.watch) at the sensor's default interval;
- alert:   the alert agent installed by install_alert_agent (real cibadmin, real curl on
           the nodes) POSTing to the watcher's listener on the lab bridge address.
The clock starts right before the fault command and stops when the watcher hands the
first unexpected resource_moved/resource_stopped to on_event (the point where the rule's
pause request would be sent). Writes the <!-- bench:detect --> section of docs/BENCHMARKS.md.
"""

import argparse
import importlib.util
import re
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lab"), str(ROOT / "actions" / "lib")]

from pacemaker_update.config import load_config_file  # noqa: E402
from pacemaker_update.detect import MemoryLedgerStore  # noqa: E402
from pacemaker_update.detect.watcher import watch  # noqa: E402
from pmlab import consts, testing  # noqa: E402

BENCH = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- bench:detect -->", "<!-- /bench:detect -->"


def install_agent(config_path: Path, url: str) -> None:
    """Run the pack's install_alert_agent action against the lab."""
    path = ROOT / "actions" / "install_alert_agent.py"
    spec = importlib.util.spec_from_file_location("iaa", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import yaml
    cfg = yaml.safe_load(config_path.read_text())
    ok, out = module.InstallAlertAgent(config=cfg).run(cluster="lab", recipient_url=url)
    if not ok:
        raise SystemExit(f"install_alert_agent failed: {out['error']}")


def trials(lab, cluster, interval: float, count: int, alerts: bool) -> list:
    """Latencies (s) of `count` hand moves seen by one watcher."""
    hit, stop, urls = threading.Event(), threading.Event(), []
    state = {"armed": False, "t0": 0.0, "lat": []}
    listening = threading.Event()

    def on_event(item):
        kind = item.payload.get("kind")
        if (state["armed"] and item.trigger.endswith("unexpected_failover")
                and kind in ("resource_moved", "resource_stopped")):
            state["lat"].append(time.monotonic() - state["t0"])
            state["armed"] = False
            hit.set()

    listen = (consts.ROOT_ADDR, 0) if alerts else None
    thread = threading.Thread(target=watch, daemon=True, kwargs=dict(
        cluster_config=cluster, interval=interval, on_event=on_event, stop_event=stop,
        ledger=MemoryLedgerStore(), listen=listen,
        on_listening=lambda u: (urls.append(u), listening.set())))
    thread.start()
    if alerts:
        listening.wait(10)
        install_agent(lab.state_dir / "config.yaml", urls[0])
    time.sleep(interval + 1)
    where = "server1"
    for _ in range(count):
        where = "server2" if where == "server1" else "server1"
        hit.clear()
        state["t0"], state["armed"] = time.monotonic(), True
        lab.move("web-group", where)
        if not hit.wait(60):
            raise SystemExit("no unexpected event within 60 s")
        lab.wait_settled(service_node=where)
        time.sleep(interval + 1)
    stop.set()
    thread.join(15)
    return state["lat"]


def write_section(rows: list, interval: float) -> None:
    """Create or replace only the bench:detect section."""
    lines = [START, "### Unexpected-failover detection latency (bench/bench_detect.py)", "",
             f"Lab: 2 nodes, crmsh; fault = hand move of web-group; poll interval {interval} s.",
             "", "| path | trials | median s | max s |", "|---|---|---|---|"]
    lines += [f"| {name} | {len(v)} | {statistics.median(v):.2f} | {max(v):.2f} |"
              for name, v in rows]
    lines.append(END)
    text = BENCH.read_text() if BENCH.exists() else "# Benchmarks\n"
    section = "\n".join(lines)
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + section + "\n")
    BENCH.write_text(text)


def main() -> None:
    """Bring up (or reuse) the lab, measure both paths, write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    lab = testing.bring_up(2, "crmsh", False)
    lab.reset()
    cluster = load_config_file(lab.state_dir / "config.yaml").cluster("lab")
    rows = [("polling", trials(lab, cluster, args.interval, args.trials, alerts=False)),
            ("alert agent", trials(lab, cluster, args.interval, args.trials, alerts=True))]
    for name, values in rows:
        print(f"{name}: median {statistics.median(values):.2f} s, max {max(values):.2f} s")
    write_section(rows, args.interval)


if __name__ == "__main__":
    main()
