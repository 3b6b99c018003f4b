#!/bin/sh
# pacemaker_update alert agent: push a Pacemaker alert to the unexpected-failover watcher.
#
# Installed on every node by the pacemaker_update.install_alert_agent action and
# registered in the CIB as <alert id="pacemaker_update" path="THIS FILE"> with
#   recipient value   = URL to POST to (st2: https://ST2/api/v1/webhooks/pacemaker_update_alert;
#                       embedded watcher: http://ADDR:PORT/alert)
#   instance attribute pu_cluster  = the cluster's name in the pack config
#   instance attribute pu_key_file = file holding the St2-Api-Key (optional)
# Pacemaker runs it (as hacluster) with the CRM_alert_* environment variables; it must
# never block the cluster: one curl with short timeouts, always exit 0.

: "${CRM_alert_version:=}" "${CRM_alert_recipient:=}" "${CRM_alert_kind:=}"
: "${CRM_alert_node:=}" "${CRM_alert_rsc:=}" "${CRM_alert_task:=}" "${CRM_alert_desc:=}"
: "${CRM_alert_rc:=}" "${CRM_alert_target_rc:=}" "${CRM_alert_status:=}"
: "${CRM_alert_timestamp:=}" "${CRM_alert_timestamp_epoch:=}" "${CRM_alert_timestamp_usec:=}"
: "${CRM_alert_nodeid:=}" "${pu_cluster:=}" "${pu_key_file:=}" "${pu_max_time:=3}"

[ -n "$CRM_alert_version" ] || { echo "$0: run by Pacemaker (>= 1.1.15) only" >&2; exit 0; }
[ -n "$CRM_alert_recipient" ] || exit 0
case "$CRM_alert_recipient" in http://*|https://*) ;; *) exit 0 ;; esac
# Attribute changes (e.g. pingd) are noise for the watcher.
[ "$CRM_alert_kind" = "attribute" ] && exit 0

# JSON string value: keep only characters that need no escaping.
j() { printf '"%s"' "$(printf '%s' "$1" | tr -cd 'A-Za-z0-9 _.:@/+,=()[]-' | cut -c1-256)"; }

body="{\"cluster\":$(j "$pu_cluster"),\"kind\":$(j "$CRM_alert_kind"),\
\"node\":$(j "$CRM_alert_node"),\"rsc\":$(j "$CRM_alert_rsc"),\"task\":$(j "$CRM_alert_task"),\
\"desc\":$(j "$CRM_alert_desc"),\"rc\":$(j "$CRM_alert_rc"),\
\"target_rc\":$(j "$CRM_alert_target_rc"),\"status\":$(j "$CRM_alert_status"),\
\"timestamp\":$(j "$CRM_alert_timestamp"),\"timestamp_epoch\":$(j "$CRM_alert_timestamp_epoch"),\
\"timestamp_usec\":$(j "$CRM_alert_timestamp_usec"),\"nodeid\":$(j "$CRM_alert_nodeid"),\
\"version\":$(j "$CRM_alert_version")}"

# The API key goes to curl on stdin (-K -), never on the command line (ps would show it).
key=""
[ -n "$pu_key_file" ] && [ -r "$pu_key_file" ] && key=$(tr -cd 'A-Za-z0-9_.-' < "$pu_key_file")
{
    [ -n "$key" ] && printf 'header = "St2-Api-Key: %s"\n' "$key"
    printf 'header = "Content-Type: application/json"\n'
} | curl -K - -s -o /dev/null --connect-timeout 1 --max-time "$pu_max_time" \
    -X POST --data-binary "$body" -- "$CRM_alert_recipient" >/dev/null 2>&1
exit 0
