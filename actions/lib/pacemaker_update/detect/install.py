"""Installing the alert agent: the file on each node and the ``<alert>`` in the CIB.

The CIB part uses ``cibadmin`` (Pacemaker's own tool, the same on crmsh and pcs clusters,
1.1.15+): ``--modify --allow-create`` on ``configuration`` merges our one ``<alert>``
(id ``pacemaker_update``) and creates ``<alerts>`` when the CIB has none, leaving other
alerts alone. Everything here is pure: argv lists and the XML text.
"""

import os
import re
import urllib.parse
import uuid
from typing import Any, Dict, List, Optional
from xml.sax.saxutils import quoteattr

from pacemaker_update.errors import CommandFailedError, InvalidInputError

ALERT_ID = "pacemaker_update"
AGENT_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "alert_agent.sh")
AGENT_DIR = "/usr/local/lib/pacemaker_update"
AGENT_PATH = AGENT_DIR + "/alert_agent.sh"
KEY_PATH = "/etc/pacemaker_update/alert.key"
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")
_PATH = re.compile(r"^[A-Za-z0-9/_.~%-]*$")
_KEY = re.compile(r"^[A-Za-z0-9_.-]{8,256}$")


def validate_recipient(url: str) -> str:
    """An http(s) URL with a plain host and path (no credentials, query or odd characters)."""
    if not isinstance(url, str) or len(url) > 512:
        raise InvalidInputError("recipient_url must be a URL of at most 512 characters",
                                code="INVALID_RECIPIENT")
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rsplit(":", 1)[0] if ":" in parts.netloc.split("]")[-1] else parts.netloc
    port = parts.netloc[len(host) + 1:] if len(parts.netloc) > len(host) else ""
    ok = (parts.scheme in ("http", "https") and "@" not in parts.netloc and _HOST.match(host)
          and (port == "" or (port.isdigit() and 0 < int(port) < 65536))
          and _PATH.match(parts.path) and not parts.query and not parts.fragment)
    if not ok:
        raise InvalidInputError(
            f"recipient_url {url!r} is not a plain http(s)://host[:port]/path URL",
            code="INVALID_RECIPIENT",
            hint="st2: https://ST2_HOST/api/v1/webhooks/pacemaker_update_alert; embedded "
                 "watcher: http://ADDRESS:PORT/alert")
    return url


def validate_api_key(key: Optional[str]) -> Optional[str]:
    """An st2 API key (letters, digits, '_', '.', '-'), or None."""
    if key is None or key == "":
        return None
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidInputError("api_key must be 8-256 letters, digits, '_', '.' or '-'",
                                code="INVALID_API_KEY")
    return key


def alert_xml(cluster: str, url: str, key_file: Optional[str], timeout_s: int = 10) -> str:
    """The ``<configuration><alerts><alert>`` fragment for cibadmin."""
    attrs = [("pu_cluster", cluster)] + ([("pu_key_file", key_file)] if key_file else [])
    pairs = "".join(f"<nvpair id={quoteattr(f'{ALERT_ID}-{name}')} name={quoteattr(name)} "
                    f"value={quoteattr(value)}/>" for name, value in attrs)
    return (f"<configuration><alerts><alert id={quoteattr(ALERT_ID)} "
            f"path={quoteattr(AGENT_PATH)}>"
            f"<meta_attributes id={quoteattr(ALERT_ID + '-meta')}>"
            f"<nvpair id={quoteattr(ALERT_ID + '-timeout')} name=\"timeout\" "
            f"value=\"{int(timeout_s)}s\"/></meta_attributes>"
            f"<instance_attributes id={quoteattr(ALERT_ID + '-attrs')}>{pairs}"
            f"</instance_attributes>"
            f"<recipient id={quoteattr(ALERT_ID + '-recipient')} value={quoteattr(url)}/>"
            f"</alert></alerts></configuration>")


def delete_alert_argv() -> List[str]:
    """Remove a previous registration (rc 0 or "not found" are both fine)."""
    return ["cibadmin", "--delete", "--xml-text", f"<alert id={quoteattr(ALERT_ID)}/>"]


def register_alert_argv(xml: str) -> List[str]:
    """Merge the alert into the CIB, creating <alerts> when missing."""
    return ["cibadmin", "--modify", "--allow-create", "--scope", "configuration",
            "--xml-text", xml]


def agent_text() -> str:
    """The agent script shipped with the pack."""
    with open(AGENT_SOURCE, encoding="utf-8") as handle:
        return handle.read()


def _step(ctx: Any, node: str, argv: List[str], stdin: Optional[str] = None,
          shown: Optional[List[str]] = None) -> None:
    """Run (or in a dry run, plan) one command; non-zero rc -> CommandFailedError."""
    entry = {"host": node, "argv": shown or argv}
    if ctx.dry_run:
        ctx.commands.append(dict(entry, planned=True))
        return
    result = ctx.transport(node).run(argv, stdin=stdin)
    record = result.to_dict()
    record["argv"] = shown or argv
    ctx.commands.append(record)
    if result.rc != 0:
        raise CommandFailedError(f"{' '.join(shown or argv)} failed on {node} (rc {result.rc})",
                                 details={"host": node, "rc": result.rc,
                                          "stderr": (result.stderr or "")[-500:]})


def install_alert_agent(ctx: Any, recipient_url: str, api_key: Optional[str]) -> Dict[str, Any]:
    """Copy the agent (and key) to every node of ``ctx.cluster``, register the alert once."""
    url = validate_recipient(recipient_url)
    key = validate_api_key(api_key)
    script = agent_text()
    nodes = list(ctx.cluster.node_names)
    # Written under a unique name, then renamed over the agent: Pacemaker may run the old
    # one at any moment, and nodes may share the file system (e.g. an NFS /usr/local), so
    # it never sees a half-written script.
    temp = f"{AGENT_PATH}.new-{uuid.uuid4().hex[:12]}"
    for node in nodes:
        _step(ctx, node, ["install", "-d", "-m", "0755", AGENT_DIR])
        _step(ctx, node, ["tee", temp], stdin=script)
        _step(ctx, node, ["chmod", "0755", temp])
        _step(ctx, node, ["mv", "-f", "--", temp, AGENT_PATH])
        if key is not None:
            _step(ctx, node, ["install", "-d", "-m", "0750", os.path.dirname(KEY_PATH)])
            _step(ctx, node, ["tee", KEY_PATH], stdin=key)
            _step(ctx, node, ["chmod", "0640", KEY_PATH])
            _step(ctx, node, ["chgrp", "-R", "haclient", os.path.dirname(KEY_PATH)])
    xml = alert_xml(ctx.cluster.name, url, KEY_PATH if key else None)
    _step(ctx, nodes[0], delete_alert_argv())
    _step(ctx, nodes[0], register_alert_argv(xml))
    return {"nodes": nodes, "agent_path": AGENT_PATH, "recipient_url": url,
            "key_file": KEY_PATH if key else None, "alert_id": ALERT_ID}
