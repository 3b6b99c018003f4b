"""Validators for every string that may end up in a command line.

Each validator returns the (unchanged, or for numbers normalised) value or
raises :class:`InvalidInputError` with ``details = {field, value, rule}``.
They are deliberately stricter than the tools they protect: argv elements are
never passed through a local shell, but the SSH transport hands the remote
side one command string, sudo re-parses options, and crmsh itself builds
shell strings from node and resource names (``utils.ext_cmd``). So: ASCII
only (no lookalike letters), no whitespace, no shell metacharacters, never a
leading ``-`` (an option injection), and a length bound.
"""

import ipaddress
import math
import re
from typing import Pattern, Union

from pacemaker_update.errors import InvalidInputError

VALUE_REPR_MAX = 80
TIMEOUT_MAX_S = 86400.0

# re.ASCII keeps \w and friends out of it; every pattern lists its characters.
_NODE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}", re.ASCII)
_RPM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,199}", re.ASCII)
_DEB_NAME = re.compile(r"[a-z0-9][a-z0-9.+-]{1,199}(:[a-z0-9-]{1,32})?", re.ASCII)
_RPM_VERSION = re.compile(r"([0-9]{1,10}:)?[0-9][A-Za-z0-9._+~^-]{0,127}", re.ASCII)
_DEB_VERSION = re.compile(r"([0-9]{1,10}:)?[0-9][A-Za-z0-9.+~-]{0,127}", re.ASCII)
_XML_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,254}", re.ASCII)
_UNIT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9:_.@-]{0,255}", re.ASCII)
_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)

RPM_MANAGERS = ("yum", "dnf", "zypper", "rpm")
DEB_MANAGERS = ("apt", "apt-get", "dpkg")


def _refuse(field: str, value: object, rule: str, why: str) -> InvalidInputError:
    shown = repr(value)
    if len(shown) > VALUE_REPR_MAX:
        shown = shown[:VALUE_REPR_MAX] + f"...({len(str(value))} chars)"
    return InvalidInputError(
        f"{field} {shown} is not valid: {why}",
        details={"field": field, "value": shown, "rule": rule},
    )


def _match(pattern: Pattern[str], value: object, field: str, rule: str, why: str) -> str:
    if not isinstance(value, str):
        raise _refuse(field, value, "type", f"expected a string, got {type(value).__name__}")
    if not value:
        raise _refuse(field, value, "non_empty", "must not be empty")
    if value.startswith("-"):
        raise _refuse(field, value, "no_leading_dash", "must not start with '-' (option injection)")
    # fullmatch, not match + '$': '$' also matches before a trailing newline.
    if pattern.fullmatch(value) is None:
        raise _refuse(field, value, rule, why)
    return value


def validate_node_name(value: object, field: str = "node") -> str:
    """Check a Pacemaker/corosync node name (what crm_mon shows as node name).

    Letters, digits, '-', '_' and '.', at most 253 characters, starting with a
    letter, digit or '_'. Stricter than corosync on purpose: see module doc.
    """
    return _match(
        _NODE, value, field, "node_name",
        "a node name may contain only ASCII letters, digits, '-', '_' and '.', "
        "must start with a letter, digit or '_' and be at most 253 characters",
    )


def validate_package_name(value: object, manager: str, field: str = "package") -> str:
    """Check a package name for ``manager`` (yum, dnf, zypper, rpm, apt, dpkg).

    Bare names only: versions travel separately (see validate_package_version),
    so no ``name=version``, no ``>=`` capabilities and no globs. rpm names
    (letters, digits, ``._+-``) cannot be told apart from ``name-version``;
    yum/dnf will read such a string as a NEVRA, which is accepted knowingly.
    Debian names follow policy 5.6.1 (lowercase, 2+ chars) plus an optional
    ``:arch`` qualifier.
    """
    if manager in RPM_MANAGERS:
        return _match(
            _RPM_NAME, value, field, "rpm_package_name",
            "an rpm package name may contain only ASCII letters, digits and '._+-', "
            "must start with a letter, digit or '_' and be at most 200 characters",
        )
    if manager in DEB_MANAGERS:
        return _match(
            _DEB_NAME, value, field, "deb_package_name",
            "a Debian package name is 2-200 lowercase ASCII letters, digits and '.+-', "
            "starting with a letter or digit, optionally followed by ':<arch>'",
        )
    raise _refuse("manager", manager, "package_manager",
                  "unknown package manager (one of {})".format(
                      ", ".join(RPM_MANAGERS + DEB_MANAGERS)))


def validate_package_version(value: object, manager: str, field: str = "version") -> str:
    """Check a package version for a downgrade/pin: ``[epoch:]version[-release]``."""
    if manager in RPM_MANAGERS:
        return _match(_RPM_VERSION, value, field, "rpm_version",
                      "an rpm version is [epoch:]version[-release], starting with a "
                      "digit, of ASCII letters, digits and '._+~^-'")
    if manager in DEB_MANAGERS:
        return _match(_DEB_VERSION, value, field, "deb_version",
                      "a Debian version is [epoch:]upstream[-revision], starting with a "
                      "digit, of ASCII letters, digits and '.+~-'")
    raise _refuse("manager", manager, "package_manager", "unknown package manager")


def validate_resource_id(value: object, field: str = "resource") -> str:
    """Check a CIB resource id: an XML ID (NCName) restricted to ASCII, max 255."""
    return _match(
        _XML_ID, value, field, "xml_id",
        "a resource id must start with an ASCII letter or '_' and contain only "
        "letters, digits, '_', '.' and '-' (XML ID), at most 255 characters",
    )


def validate_unit_name(value: object, field: str = "unit") -> str:
    """Check a systemd unit name such as ``pacemaker`` or ``corosync.service``.

    No backslash escapes and no globs: units this pack touches have plain names.
    """
    return _match(
        _UNIT, value, field, "unit_name",
        "a unit name may contain only ASCII letters, digits and ':_.@-' "
        "and be at most 256 characters",
    )


def validate_hostname_or_address(value: object, field: str = "host") -> str:
    """Check an SSH target: an IPv4/IPv6 literal or an RFC 1123 host name.

    IPv6 zone ids (``%eth0``) are refused: Python 3.8 cannot parse them.
    """
    text = _match(re.compile(r"[A-Za-z0-9.:_-]{1,253}", re.ASCII), value, field,
                  "host_chars", "a host is an IP address or a DNS name (ASCII letters, "
                  "digits, '-' and '.')")
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    labels = text[:-1].split(".") if text.endswith(".") else text.split(".")
    if ":" in text or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise _refuse(field, value, "hostname",
                      "not an IP address and not a DNS name (labels of 1-63 letters, "
                      "digits and inner '-')")
    if labels[-1].isdigit():
        raise _refuse(field, value, "hostname", "looks like a malformed IPv4 address")
    return text


def validate_timeout(
    value: object, field: str = "timeout", maximum: float = TIMEOUT_MAX_S
) -> float:
    """Check a timeout in seconds: a finite number, > 0 and <= ``maximum``.

    Numeric strings are accepted (StackStorm and YAML configs deliver them);
    booleans are not, although Python counts them as ints.
    """
    number: Union[int, float]
    if isinstance(value, bool):
        raise _refuse(field, value, "type", "expected a number of seconds, got a boolean")
    if isinstance(value, (int, float)):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,6})?", value, re.ASCII):
        number = float(value)
    else:
        raise _refuse(field, value, "type", "expected a number of seconds")
    if not math.isfinite(number) or number <= 0:
        raise _refuse(field, value, "positive", "must be a finite number greater than 0")
    if number > maximum:
        raise _refuse(field, value, "maximum", f"must be at most {maximum:g} seconds")
    return float(number)
