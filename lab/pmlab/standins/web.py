#!/usr/bin/python3
"""The lab's service: an HTTP server answering with the node's name and the version of the
`httpd` package installed on this node (read from the node's package DB per request, so an
update is visible). Started by Pacemaker (ocf:heartbeat:anything) as `web.py pmulab-web LAB_DIR`.
"""
import json
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    """GET / -> {"node", "package", "version"}."""

    lab = "/var/lib/pmu-lab"

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        """Answer every path with the service identity."""
        node = socket.gethostname()
        try:
            with open(os.path.join(self.lab, "nodes", node, "pkgdb.json")) as fh:
                pkg = json.load(fh)["httpd"]
            version = f"{pkg['version']}-{pkg['release']}"
        except (OSError, KeyError, ValueError):
            version = "unknown"
        body = json.dumps({"node": node, "package": "httpd", "version": version}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: object) -> None:
        """Quiet: the probe records requests on the client side."""


def main() -> None:
    """Entry: web.py pmulab-web LAB_DIR."""
    Handler.lab = sys.argv[2] if len(sys.argv) > 2 else Handler.lab
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("0.0.0.0", 80), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
