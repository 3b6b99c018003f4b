"""pacemaker_update: safe updates of Pacemaker/Corosync clusters.

Layers (each may only import the ones above it): errors, validate, state,
commands, transport, config, ops, safety, engine, cli.
"""

__version__ = "0.1.0"
