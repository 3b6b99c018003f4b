"""Per-task overhead of the embedded runner against the bare orquesta conductor.

A throw-away pack (temp dir) holds one python-script action that does nothing and
workflows that chain N calls of it. Three ways to run the chain, same conductor:

- bare: ``WorkflowConductor`` driven by hand (get_next_tasks, RUNNING/SUCCEEDED
  ActionExecutionEvents), the action's ``run`` called inline: what orquesta itself costs;
- bare + durable: the same, plus ``json.dumps(conductor.serialize())`` after every task
  (what any runner that survives a crash must at least pay);
- engine: ``engine.Engine.start`` (registry, parameter validation, SQLite run store,
  worker threads, progress events, output capture).

Per-task time = wall time of the run / N (Engine construction and workflow loading are
outside the timed span in all three).

A second workload, ``loop_<n>``, is shaped like the update workflows: a loop of n
iterations (call the action, a task without action deciding whether to go on) that
publishes a growing list (one entry per iteration, as the per-node progress). orquesta
keeps every published version and hands the whole state to every expression, so on the
bare conductor its cost per task grows with n; the embedded runner folds that history at
every step (engine/compaction.py). Same three ways, per task.

Each Python that has a venv here (.venv 3.11, .venv38 3.8) runs the measurement in a child
process. Writes the <!-- bench:runner --> section of docs/BENCHMARKS.md.

Usage: .venv/bin/python bench/bench_runner.py [--sizes 10,50,100] [--loops 25,100]
       [--runs 3] [--no-write]
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
PYTHONS = [(".venv", ROOT / ".venv" / "bin" / "python"),
           (".venv38", ROOT / ".venv38" / "bin" / "python")]

NOOP_PY = '''from pacemaker_update.st2compat import Action


class Noop(Action):
    def run(self, n=0):
        return (True, {"n": n})
'''


def load_note(command: str) -> str:
    """One line saying where and how the figures were measured (load matters: shared box)."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"Measured with `{command}` on Python {platform.python_version()}, "
            f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load:.1f} at the end "
            f"(a shared machine: absolute times vary with load, ratios less).")


def write_marked_section(marker: str, body: str) -> Path:
    """Replace (or append) the ``<!-- marker -->`` … ``<!-- /marker -->`` section of BENCHMARKS."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    section = f"<!-- {marker} -->\n{body}\n<!-- /{marker} -->"
    pattern = re.compile(rf"<!-- {re.escape(marker)} -->.*?<!-- /{re.escape(marker)} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)
    return DOC


def chain_yaml(n: int) -> str:
    """An orquesta workflow: n tasks calling bench.noop one after the other."""
    lines = ["version: 1.0", "tasks:"]
    for i in range(n):
        lines += [f"  t{i:04d}:", "    action: bench.noop", "    input:", f"      n: {i}"]
        if i + 1 < n:
            lines += ["    next:", "      - when: <% succeeded() %>", f"        do: t{i + 1:04d}"]
    return "\n".join(lines) + "\n"


LOOP_ENTRY = ("dict(i => ctx().i, step => 'standby', ok => true, commands => "
              "[dict(host => 'server1', argv => ['crm', 'node', 'standby', 'server1'], rc => 0), "
              "dict(host => 'server1', argv => ['crm_mon', '-1', '--output-as=xml'], rc => 0)])")


def loop_yaml(n: int) -> str:
    """An orquesta loop of n iterations publishing a growing list (like per-node progress)."""
    return "\n".join([
        "version: 1.0", "vars:", "  - i: 0", "  - log: []", "output:",
        "  - count: <% len(ctx().log) %>", "tasks:",
        "  begin:", "    next:", "      - do: step",
        "  step:", "    action: bench.noop", "    input:", "      n: <% ctx().i %>",
        "    next:", "      - when: <% succeeded() %>", "        publish:",
        f"          - log: <% ctx().log + [{LOOP_ENTRY}] %>",
        "          - i: <% ctx().i + 1 %>", "        do: again",
        "  again:", "    next:", f"      - when: <% ctx().i < {n} %>", "        do: step",
    ]) + "\n"


def make_pack(sizes: List[int], loops: List[int]) -> Path:
    """The throw-away pack: pack.yaml, bench.noop, one chain_<n> and one loop_<n> per size."""
    pack = Path(tempfile.mkdtemp(prefix="pu-bench-runner-"))
    (pack / "actions" / "workflows").mkdir(parents=True)
    (pack / "actions" / "lib").mkdir()
    (pack / "pack.yaml").write_text("ref: bench\nname: bench\nversion: 0.0.1\n")
    (pack / "actions" / "noop.py").write_text(NOOP_PY)
    (pack / "actions" / "noop.yaml").write_text(
        "name: noop\nrunner_type: python-script\nentry_point: noop.py\n"
        "parameters:\n  n:\n    type: integer\n    default: 0\n")
    for n in sizes:
        (pack / "actions" / "workflows" / f"chain_{n}.yaml").write_text(chain_yaml(n))
        (pack / "actions" / f"chain_{n}.yaml").write_text(
            f"name: chain_{n}\nrunner_type: orquesta\nentry_point: workflows/chain_{n}.yaml\n"
            "parameters: {}\n")
    for n in loops:
        (pack / "actions" / "workflows" / f"loop_{n}.yaml").write_text(loop_yaml(n))
        (pack / "actions" / f"loop_{n}.yaml").write_text(
            f"name: loop_{n}\nrunner_type: orquesta\nentry_point: workflows/loop_{n}.yaml\n"
            "parameters: {}\n")
    return pack


def run_bare(text: str, n: int, durable: bool) -> float:
    """Seconds to drive a workflow of n tasks with the conductor alone (optionally
    serializing after each task); tasks without action are completed at once."""
    from orquesta import conducting, events, statuses
    from orquesta.specs import native
    from pacemaker_update.st2compat import Action

    class Noop(Action):
        def run(self, n: int = 0) -> Any:
            return (True, {"n": n})

    spec = native.WorkflowSpec(text)
    spec.inspect(raise_exception=True)
    start = time.perf_counter()
    conductor = conducting.WorkflowConductor(spec, context={}, inputs={})
    conductor.request_workflow_status(statuses.RUNNING)
    done = 0
    while True:
        tasks = conductor.get_next_tasks()
        if not tasks:
            break
        for task in tasks:
            route = task["route"]
            conductor.update_task_state(task["id"], route,
                                        events.ActionExecutionEvent(statuses.RUNNING))
            action = task["actions"][0]
            if action.get("action") is None:
                ok, result = True, None
            else:
                ok, value = Noop(config={}).run(**action["input"])
                result = {"result": value, "stdout": "", "stderr": "", "exit_code": 0}
            conductor.update_task_state(
                task["id"], route,
                events.ActionExecutionEvent(statuses.SUCCEEDED if ok else statuses.FAILED,
                                            result=result))
            if durable:
                json.dumps(conductor.serialize())
            done += 1
    elapsed = time.perf_counter() - start
    assert conductor.get_workflow_status() == statuses.SUCCEEDED and done == n
    return elapsed


def run_engine(pack: Path, name: str) -> Dict[str, float]:
    """Seconds (and the engine's own timing split) of one workflow run through Engine.start."""
    from pacemaker_update.engine import Engine

    state = tempfile.mkdtemp(prefix="pu-bench-runner-state-")
    try:
        engine = Engine(pack_dir=str(pack), state_dir=state, config={})
        engine.prepare(name, {})  # load + inspect outside the timed span
        start = time.perf_counter()
        result = engine.start(name, {})
        elapsed = time.perf_counter() - start
        assert result.status == "succeeded", result.errors
        return {"wall": elapsed, "action_time": float(result.timing.get("action_time", 0.0))}
    finally:
        shutil.rmtree(state, ignore_errors=True)


def measure_one(pack: Path, name: str, n: int, tasks: int, runs: int) -> Dict[str, Any]:
    """Median per-task ms of the three ways for one workflow of ``tasks`` tasks."""
    text = (pack / "actions" / "workflows" / f"{name}.yaml").read_text()
    bare = statistics.median(run_bare(text, tasks, False) for _ in range(runs))
    durable = statistics.median(run_bare(text, tasks, True) for _ in range(runs))
    eng = [run_engine(pack, name) for _ in range(runs)]
    wall = statistics.median(e["wall"] for e in eng)
    inside = statistics.median(e["action_time"] for e in eng)
    return {"n": n, "tasks": tasks, "bare_ms": 1000 * bare / tasks,
            "durable_ms": 1000 * durable / tasks, "engine_ms": 1000 * wall / tasks,
            "inside_ms": 1000 * inside / tasks}


def measure(sizes: List[int], loops: List[int], runs: int) -> Dict[str, Any]:
    """Child-process body: median per-task ms of the three ways, per workflow size."""
    sys.path.insert(0, str(ROOT / "actions" / "lib"))
    from pacemaker_update.engine import compat

    compat.apply_fixes()
    pack = make_pack(sizes, loops)
    try:
        rows = [measure_one(pack, f"chain_{n}", n, n, runs) for n in sizes]
        loop_rows = [measure_one(pack, f"loop_{n}", n, 1 + 2 * n, runs) for n in loops]
    finally:
        shutil.rmtree(pack, ignore_errors=True)
    return {"python": platform.python_version(), "rows": rows, "loops": loop_rows}


def table(results: List[Dict[str, Any]], runs: int) -> str:
    """Markdown: per-task ms per Python and chain length, and the engine's extra cost."""
    out = ["## Embedded runner overhead per task (chain of no-op python actions)", "",
           "| Python | tasks | bare conductor (ms/task) | + serialize per task | "
           "embedded runner (ms/task) | of which inside the action | runner − bare |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        for r in res["rows"]:
            out.append(f"| {res['python']} | {r['n']} | {r['bare_ms']:.1f} | "
                       f"{r['durable_ms']:.1f} | {r['engine_ms']:.1f} | {r['inside_ms']:.1f} | "
                       f"{r['engine_ms'] - r['bare_ms']:+.1f} |")
    out += ["", f"Median of {runs} runs. Per task = wall time of the run / tasks; the conductor's "
            "own cost grows with the chain length (every evaluation copies the workflow "
            "state), so compare rows of one length. The embedded runner lends expressions "
            "the workflow state instead of a copy (engine/conductor.py) and runs a lone "
            "action in its own thread: on long chains it costs less than the bare "
            "conductor despite writing the run store at every step.", "",
            "## Publishing loop (a growing list published every iteration, as the update "
            "workflows' per-node progress)", "",
            "| Python | iterations | tasks | bare conductor (ms/task) | + serialize per task | "
            "embedded runner (ms/task) | runner − bare |", "|---|---:|---:|---:|---:|---:|---:|"]
    for res in results:
        for r in res.get("loops", []):
            out.append(f"| {res['python']} | {r['n']} | {r['tasks']} | {r['bare_ms']:.1f} | "
                       f"{r['durable_ms']:.1f} | {r['engine_ms']:.1f} | "
                       f"{r['engine_ms'] - r['bare_ms']:+.1f} |")
    out += ["", "The bare conductor keeps every published version of the list and converts "
            "the whole state for every expression: its cost per task grows with the run. The "
            "embedded runner folds the history at every step (engine/compaction.py) and lends "
            "the state instead of copying it, so it is cheaper than the bare conductor here "
            "although it also writes the run store.", "",
            load_note("bench/bench_runner.py")]
    return "\n".join(out)


def main() -> None:
    """Measure in each available Python (child processes), print, write bench:runner."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,50,100")
    parser.add_argument("--loops", default="25,100")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    loops = [int(s) for s in args.loops.split(",") if s.strip()]
    if args.worker:
        print(json.dumps(measure(sizes, loops, args.runs)))
        return
    results = []
    for name, python in PYTHONS:
        if not python.exists():
            print(f"skipping {name}: {python} not found", file=sys.stderr)
            continue
        proc = subprocess.run([str(python), __file__, "--worker", "--sizes", args.sizes,
                               "--loops", args.loops, "--runs", str(args.runs)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    text = table(results, args.runs)
    print(text)
    if not args.no_write:
        print("written to", write_marked_section("bench:runner", text))


if __name__ == "__main__":
    main()
