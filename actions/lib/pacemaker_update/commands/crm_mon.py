"""crm_mon argv: the one status source the ops layer verifies everything in.

XML format by Pacemaker version (decided from ``crm_mon --version``):

* >= 2.0.3: ``crm_mon -1 --output-as=xml``. crm_mon's formatted-output XML
  includes every section by default (default_includes() returns all for
  XML in tools/crm_mon.c): inactive resources, node attributes, fail counts,
  failures, and fence history (level 1, fetched by default). Checked here on
  2.1.5 with a CIB file: a Stopped resource and a transient node attribute
  appear without -r/-A. The threshold: the crm_mon(8) page of 2.0.3 (e.g. Ubuntu
  20.04's pacemaker-cli-utils 2.0.3) documents ``--output-as=FORMAT`` with xml;
  2.0.3 is the release whose crm_mon moved to formatted output.
* older (1.1.x on RHEL 7, 2.0.0-2.0.2) or unknown: ``crm_mon -1 -X``, the
  legacy ``<crm_mon>`` schema, which 2.x still accepts (deprecated). XML mode
  sets ``show = mon_show_all`` there too. ``--fence-history`` is not added:
  1.1 releases before 1.1.19 reject it, and later ones default to level 1.
"""

from typing import List, Optional

from pacemaker_update.commands.versions import version_at_least

MODERN_XML_SINCE = (2, 0, 3)


def status_xml_argv(pacemaker_version: Optional[str] = None) -> List[str]:
    """One-shot XML status for a cluster running ``pacemaker_version``."""
    if pacemaker_version is not None and version_at_least(pacemaker_version, MODERN_XML_SINCE):
        return ["crm_mon", "-1", "--output-as=xml"]
    return ["crm_mon", "-1", "-X"]


def status_text_argv() -> List[str]:
    """The procedure's human status: inactive resources, fail counts, attributes."""
    return ["crm_mon", "-rfA1"]
