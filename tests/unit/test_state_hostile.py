"""Malformed and hostile crm_mon XML: only coded PacemakerUpdateError subclasses come
out, nothing external is ever resolved, and no lxml object leaks out of the package."""

import dataclasses
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pacemaker_update.errors import ClusterStateError, PacemakerUpdateError, ParseError
from pacemaker_update.state import parse_crm_mon_xml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"
GOOD = (FIXTURES / "two_node_failed_monitor.xml").read_bytes()
GOOD_LEGACY = (FIXTURES / "three_node_normal.legacy.xml").read_bytes()
SECRET = Path("/etc/passwd").read_text().splitlines()[0] if Path("/etc/passwd").exists() else ""

LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE crm_mon [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<crm_mon version="&d;"><summary/></crm_mon>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<crm_mon version="1"><summary><stack type="&x;"/></summary></crm_mon>"""
XXE_PARAM = b"""<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>
<crm_mon version="1"><summary/></crm_mon>"""
XINCLUDE = b"""<crm_mon version="1" xmlns:xi="http://www.w3.org/2001/XInclude">
<summary><stack type="corosync"/><xi:include href="file:///etc/passwd" parse="text"/></summary>
<nodes><node name="n1" id="1" online="true"><xi:include href="file:///etc/passwd"/></node></nodes>
<node_attributes><node name="n1"><xi:include href="file:///etc/passwd" parse="text"/>
</node></node_attributes></crm_mon>"""
ATTACKS = {
    "billion_laughs": LAUGHS,
    "external_entity": XXE,
    "parameter_entity": XXE_PARAM,
    "doctype_only": b'<!DOCTYPE crm_mon>\n<crm_mon version="1"><summary/></crm_mon>',
    "doctype_lowercase_trick": b'<!doctype crm_mon>\n<crm_mon version="1"><summary/></crm_mon>',
    "truncated": GOOD[: len(GOOD) // 2],
    "wrong_root": b'<cib epoch="1"><configuration/></cib>',
    "random": bytes(range(256)),
    "empty": b"   \n",
    "no_summary": b'<crm_mon version="1"><nodes/></crm_mon>',
    "result_without_status": b'<pacemaker-result api-version="2.25"><summary/></pacemaker-result>',
    "bad_bool": GOOD.replace(b'standby="false"', b'standby="maybe"', 1),
    "bad_number": GOOD.replace(b'resources_running="3"', b'resources_running="three"', 1),
    "node_without_name": GOOD_LEGACY.replace(
        b'<node name="server2" id="2" online', b'<node id="2" online', 1
    ),
}


def walk(value):
    """Every leaf of a parsed state; fails on any type a caller should not see."""
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from walk(getattr(value, f.name))
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from walk(item)
    elif isinstance(value, MappingProxyType):
        for key, item in value.items():
            yield key
            yield from walk(item)
    else:
        assert value is None or type(value) in (str, int, bool), type(value)
        yield value


def assert_safe(data: bytes, **kwargs) -> None:
    try:
        state = parse_crm_mon_xml(data, **kwargs)
    except PacemakerUpdateError as exc:
        assert isinstance(exc, (ParseError, ClusterStateError))
        assert exc.code and exc.code.isupper()
        assert exc.__cause__ is None  # no lxml exception chained to the caller
        assert not SECRET or SECRET not in str(exc.to_dict())
        return
    leaves = [str(v) for v in walk(state)]
    assert not SECRET or not any(SECRET in v for v in leaves)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_is_refused_with_a_code(name):
    with pytest.raises(ParseError) as err:
        parse_crm_mon_xml(ATTACKS[name])
    assert err.value.code == "CRM_MON_XML_INVALID"
    assert "line " in err.value.message
    assert_safe(ATTACKS[name])


def test_entity_attack_names_the_doctype_line():
    with pytest.raises(ParseError) as err:
        parse_crm_mon_xml(XXE)
    assert err.value.details["line"] == 2
    assert "DOCTYPE" in err.value.message and "/etc/passwd" in err.value.details["text"]


def test_bad_value_names_its_line():
    with pytest.raises(ParseError) as err:
        parse_crm_mon_xml(ATTACKS["bad_bool"])
    line = err.value.details["line"]
    assert 'standby="maybe"' in ATTACKS["bad_bool"].splitlines()[line - 1].decode()
    assert "standby='maybe' is not a boolean" in err.value.message


def test_xinclude_is_never_processed():
    state = parse_crm_mon_xml(XINCLUDE)
    assert state.node("n1").online is True
    assert state.node_attributes["n1"] == {}
    assert_safe(XINCLUDE)


def test_size_cap_is_checked_before_parsing():
    with pytest.raises(ParseError) as err:
        parse_crm_mon_xml(GOOD, max_bytes=len(GOOD) - 1)
    assert err.value.code == "CRM_MON_XML_TOO_LARGE"
    huge = b"<crm_mon>" + b" " * (32 * 1024 * 1024) + b"</crm_mon>"
    with pytest.raises(ParseError) as err:
        parse_crm_mon_xml(huge)
    assert err.value.code == "CRM_MON_XML_TOO_LARGE"
    assert parse_crm_mon_xml(GOOD, max_bytes=len(GOOD)).failures


def test_non_text_input_is_a_coded_error():
    with pytest.raises(ParseError):
        parse_crm_mon_xml(12345)  # type: ignore[arg-type]


def test_crm_mon_error_result_is_a_cluster_state_error():
    data = b"""<pacemaker-result api-version="2.25" request="crm_mon -1 --output-as=xml">
  <status code="102" message="Not connected">
    <errors><error>crm_mon: Error: cluster is not available on this node</error></errors>
  </status></pacemaker-result>"""
    with pytest.raises(ClusterStateError) as err:
        parse_crm_mon_xml(data)
    assert err.value.code == "CRM_MON_FAILED"
    assert err.value.details["status_code"] == 102
    assert "cluster is not available" in err.value.message


def test_status_ok_with_errors_and_no_cluster_is_crm_mon_failing():
    # recorded from the lab: pacemaker just started, crm_mon cannot reach the CIB yet
    data = (Path(__file__).resolve().parents[1] / "fixtures" / "crm_mon"
            / "live" / "starting_cib_not_connected.xml").read_bytes()
    with pytest.raises(ClusterStateError) as err:
        parse_crm_mon_xml(data)
    assert err.value.code == "CRM_MON_FAILED"
    assert err.value.details["status_code"] == 0
    assert "Could not connect to the CIB" in err.value.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_only_raise_coded_errors(data):
    assert_safe(data)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([GOOD, GOOD_LEGACY]),
    st.integers(min_value=0, max_value=len(GOOD)),
    st.binary(min_size=0, max_size=40),
)
def test_damaged_real_output_only_raises_coded_errors(base, cut, junk):
    cut = min(cut, len(base))
    assert_safe(base[:cut] + junk + base[cut + len(junk) :])


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(sorted(ATTACKS)),
    st.sampled_from([b"", b"\n", b"<!-- x -->", b'<?xml version="1.0"?>\n', b"\xef\xbb\xbf"]),
)
def test_attacks_with_prefixes_are_refused(name, prefix):
    assert_safe(prefix + ATTACKS[name])
