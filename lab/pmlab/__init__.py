"""pmlab: a real Pacemaker/Corosync cluster of 2 or 3 nodes in namespaces on one machine."""
