"""The client outside the cluster: HTTP GET on the VIP every `interval` seconds from the root
namespace, every request recorded (JSONL), and a summary of what a user would have seen."""
from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from typing import IO, Any

from pmlab.consts import HTTP_PORT, VIP


def probe_once(timeout: float) -> dict[str, Any]:
    """One request on a new connection: ts, ok, latency, node and version that answered."""
    t0 = time.time()
    rec: dict[str, Any] = {"ts": round(t0, 4)}
    conn = http.client.HTTPConnection(VIP, HTTP_PORT, timeout=timeout)
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        body = resp.read()
        rec["status"] = resp.status
        rec["ok"] = resp.status == 200
        if rec["ok"]:
            data = json.loads(body)
            rec["node"], rec["version"] = data.get("node"), data.get("version")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        rec.update(ok=False, error=type(exc).__name__ + ": " + str(exc)[:80])
    finally:
        conn.close()
    rec["latency"] = round(time.time() - t0, 4)
    return rec


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Total failed time, longest outage, switchovers (answering node changed), versions."""
    outages: list[tuple[float, float]] = []
    start: float | None = None
    for rec in records:
        if not rec["ok"] and start is None:
            start = rec["ts"]
        elif rec["ok"] and start is not None:
            outages.append((start, rec["ts"]))
            start = None
    if start is not None and records:
        outages.append((start, records[-1]["ts"] + records[-1]["latency"]))
    nodes = [r["node"] for r in records if r["ok"]]
    switches = [(a, b) for a, b in zip(nodes, nodes[1:]) if a != b]
    return {
        "requests": len(records), "failed": sum(1 for r in records if not r["ok"]),
        "failed_time": round(sum(b - a for a, b in outages), 3),
        "longest_outage": round(max((b - a for a, b in outages), default=0.0), 3),
        "outages": [[round(a, 3), round(b - a, 3)] for a, b in outages],
        "switchovers": [f"{a}->{b}" for a, b in switches],
        "nodes_seen": sorted(set(n for n in nodes if n)),
        "versions_seen": sorted(set(r["version"] for r in records if r.get("version"))),
        "max_latency": round(max((r["latency"] for r in records if r["ok"]), default=0.0), 4),
    }


class Probe:
    """A probe running in a background thread (used by the pytest fixture and benches)."""

    def __init__(self, interval: float = 0.05, timeout: float = 0.5,
                 out: str | Path | None = None) -> None:
        self.interval, self.timeout = interval, timeout
        self.records: list[dict[str, Any]] = []
        # the JSONL file stays open for the probe's lifetime; closed in stop()
        self._out: IO[str] | None = open(out, "a") if out else None  # noqa: SIM115
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        """Request, record, sleep until the next tick."""
        while not self._stop.is_set():
            t0 = time.monotonic()
            rec = probe_once(self.timeout)
            self.records.append(rec)
            if self._out:
                self._out.write(json.dumps(rec) + "\n")
                self._out.flush()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - t0)))

    def start(self) -> Probe:
        """Start probing."""
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        """Stop and return the summary."""
        self._stop.set()
        self._thread.join()
        if self._out:
            self._out.close()
        return summarize(self.records)

    def summary(self) -> dict[str, Any]:
        """Summary of what was recorded so far."""
        return summarize(list(self.records))

    def __enter__(self) -> Probe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if not self._stop.is_set():
            self.stop()


def run_probe(interval: float, duration: float | None, out: str | None, timeout: float) -> int:
    """`lab probe`: runs until duration or ^C, prints the summary as JSON; rc 1 if any failed."""
    probe = Probe(interval, timeout, out).start()
    try:
        if duration is None:
            while True:
                time.sleep(1)
        time.sleep(duration)
    except KeyboardInterrupt:
        pass
    summary = probe.stop()
    print(json.dumps(summary, indent=2))
    return 0 if summary["failed"] == 0 and summary["requests"] else 1
