"""Time parse_crm_mon_xml on synthetic crm_mon --output-as=xml of growing clusters.

The XML has the shape of real Pacemaker 2.1.5 output (tests/fixtures/crm_mon): a
summary, nodes, groups of primitives, an anonymous clone with one instance per node,
node attributes and node history (start + monitor per primitive). Prints a table and
writes it into docs/BENCHMARKS.md between <!-- bench:parse --> markers.

Usage: .venv/bin/python bench/bench_parse.py [--runs N] [--no-write]
"""

import argparse
import platform
import re
import statistics
import sys
import time
from pathlib import Path
from typing import List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "actions" / "lib"))

from pacemaker_update.state import parse_crm_mon_xml  # noqa: E402

SIZES: List[Tuple[int, int]] = [(2, 10), (3, 50), (8, 200), (16, 1000), (32, 2000), (32, 5000)]
FLAGS = (
    'online="true" standby="false" standby_onfail="false" maintenance="false" '
    'pending="false" unclean="false" health="green" shutdown="false" expected_up="true"'
)
RES = (
    '<resource id="{rid}" resource_agent="ocf:pacemaker:Dummy" role="Started" active="true" '
    'orphaned="false" blocked="false" managed="true" failed="false" failure_ignored="false" '
    'nodes_running_on="1">\n        <node name="{node}" id="{nid}" cached="true"/>\n'
    "      </resource>"
)
OPS = (
    '<resource_history id="{rid}" orphan="false" migration-threshold="1000000">\n'
    '<operation_history call="2" task="start" rc="0" rc_text="ok" '
    'last-rc-change="Sun Nov 29 14:32:18 2026" exec-time="0ms" queue-time="0ms"/>\n'
    '<operation_history call="3" task="monitor" rc="0" rc_text="ok" interval="10000ms" '
    'last-rc-change="Sun Nov 29 14:32:18 2026" exec-time="0ms" queue-time="0ms"/>\n'
    "</resource_history>"
)


def build_xml(n_nodes: int, n_res: int) -> bytes:
    """Synthetic crm_mon XML: (n_res - n_nodes) primitives in groups of 4, plus a clone."""
    nodes = [f"server{i}" for i in range(1, n_nodes + 1)]
    placed: List[Tuple[str, int]] = []
    out = [
        '<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml">',
        "<summary>",
        '<stack type="corosync"/>',
        '<current_dc present="true" version="2.1.5-a3f44794f94" name="server1" id="1" '
        'with_quorum="true" mixed_version="false"/>',
        '<last_update time="Sun Nov 29 14:32:31 2026"/>',
        f'<nodes_configured number="{n_nodes}"/>',
        f'<resources_configured number="{n_res}" disabled="0" blocked="0"/>',
        '<cluster_options stonith-enabled="false" symmetric-cluster="true" '
        'no-quorum-policy="stop" maintenance-mode="false" stop-all-resources="false"/>',
        "</summary>",
        "<nodes>",
    ]
    for i, name in enumerate(nodes, 1):
        out.append(
            f'<node name="{name}" id="{i}" {FLAGS} is_dc="{str(i == 1).lower()}" '
            f'resources_running="1" type="member"/>'
        )
    out += ["</nodes>", "<resources>"]
    for g in range(0, n_res - n_nodes, 4):
        out.append(f'<group id="grp{g}" number_resources="4" managed="true" disabled="false">')
        nid = g // 4 % n_nodes + 1
        for k in range(g, min(g + 4, n_res - n_nodes)):
            out.append(RES.format(rid=f"r{k}", node=f"server{nid}", nid=nid))
            placed.append((f"r{k}", nid))
        out.append("</group>")
    out.append(
        '<clone id="ping-clone" multi_state="false" unique="false" managed="true" '
        'disabled="false" failed="false" failure_ignored="false">'
    )
    for i, name in enumerate(nodes, 1):
        out.append(RES.format(rid="ping", node=name, nid=i))
        placed.append(("ping", i))
    out += ["</clone>", "</resources>", "<node_attributes>"]
    out += [f'<node name="{n}"><attribute name="pingd" value="100"/></node>' for n in nodes]
    out += ["</node_attributes>", "<node_history>"]
    for i, name in enumerate(nodes, 1):
        out.append(f'<node name="{name}">')
        out += [OPS.format(rid=rid) for rid, nid in placed if nid == i]
        out.append("</node>")
    out += ["</node_history>", '<status code="0" message="OK"/>', "</pacemaker-result>"]
    return "\n".join(out).encode()


def time_parse(data: bytes, runs: int) -> float:
    """Median wall time of ``runs`` parses, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        state = parse_crm_mon_xml(data)
        times.append((time.perf_counter() - start) * 1000)
    assert state.resources
    return statistics.median(times)


def make_table(runs: int) -> str:
    """The markdown table of median parse times for every size in SIZES."""
    rows = ["| nodes | resources | XML size | median parse (ms) |", "|---:|---:|---:|---:|"]
    for n_nodes, n_res in SIZES:
        data = build_xml(n_nodes, n_res)
        ms = time_parse(data, runs)
        rows.append(f"| {n_nodes} | {n_res} | {len(data) / 1024:.0f} KiB | {ms:.1f} |")
    env = (
        f"Python {platform.python_version()}, {platform.machine()}, median of {runs} runs, "
        f"`python bench/bench_parse.py`; goal: 32 nodes / 5000 resources < 100 ms."
    )
    return "\n".join(rows) + "\n\n" + env


def write_section(table: str) -> Path:
    """Replace (or append) the crm_mon parse section of docs/BENCHMARKS.md."""
    path = ROOT / "docs" / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = "<!-- bench:parse -->\n## crm_mon parse time\n\n" + table + "\n<!-- /bench:parse -->"
    pattern = re.compile(r"<!-- bench:parse -->.*?<!-- /bench:parse -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
    return path


def main() -> None:
    """Run the benchmark, print the table, write it into docs/BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    table = make_table(args.runs)
    print(table)
    if not args.no_write:
        print("written to", write_section(table))


if __name__ == "__main__":
    main()
