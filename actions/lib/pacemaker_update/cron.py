"""Cron expressions and time zones for maintenance windows (see window.py).

Five fields, Vixie semantics: ranges, lists, steps, month/day names, day-of-week 0 and 7 =
Sunday, and when both day fields are restricted a day matches either. Zones: ``zoneinfo``
on Python 3.9+; on 3.8 ``backports.zoneinfo`` or ``dateutil.tz`` when installed, else only
UTC and fixed offsets (an IANA name is refused with TIMEZONE_UNAVAILABLE).
"""

import datetime as dt
import re
from dataclasses import dataclass
from typing import FrozenSet, List, Optional, Set, Tuple

from pacemaker_update.errors import InvalidInputError

UTC = dt.timezone.utc
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS = (("minute", 0, 59, None), ("hour", 0, 23, None), ("day of month", 1, 31, None),
           ("month", 1, 12, _MONTHS), ("day of week", 0, 7, _DAYS))
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


@dataclass(frozen=True)
class CronSpec:
    """A parsed 5-field cron expression (sets of allowed values per field)."""

    minutes: FrozenSet[int]
    hours: FrozenSet[int]
    days: FrozenSet[int]
    months: FrozenSet[int]
    weekdays: FrozenSet[int]  # 0 = Sunday
    day_restricted: bool
    weekday_restricted: bool
    text: str

    def matches_day(self, day: dt.date) -> bool:
        """Whether cron would fire on ``day`` (Vixie rule: restricted day fields are OR-ed)."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.day_restricted and self.weekday_restricted:
            return dom or dow
        return dom and dow


def _value(token: str, names: Optional[List[str]], field: str, text: str) -> int:
    if names and token.lower() in names:
        return names.index(token.lower()) + (1 if names is _MONTHS else 0)
    if not token.isdigit():
        raise InvalidInputError(f"cron {field} {token!r} in {text!r} is not a number"
                                + (" or name" if names else ""), code="INVALID_CRON",
                                details={"field": field, "cron": text})
    return int(token)


def _parse_field(part: str, index: int, text: str) -> Tuple[FrozenSet[int], bool]:
    field, low, high, names = _FIELDS[index]
    values: Set[int] = set()
    for item in part.split(","):
        body, _, step_text = item.partition("/")
        step = _value(step_text, None, field, text) if step_text else 1
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            first, last = _value(a, names, field, text), _value(b, names, field, text)
        else:
            first = _value(body, names, field, text)
            last = high if step_text else first
        if not (low <= first <= last <= high) or step < 1:
            raise InvalidInputError(f"cron {field} {item!r} in {text!r} is out of range "
                                    f"{low}-{high}", code="INVALID_CRON",
                                    details={"field": field, "cron": text})
        values.update(range(first, last + 1, step))
    if index == 4 and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values), part != "*"


def parse_cron(text: str) -> CronSpec:
    """Parse a 5-field cron expression; INVALID_CRON (InvalidInputError) names the field."""
    parts = str(text).split()
    if len(parts) != 5:
        raise InvalidInputError(f"cron {text!r} must have 5 fields (minute hour day-of-month "
                                "month day-of-week)", code="INVALID_CRON", details={"cron": text})
    fields = [_parse_field(p, i, text) for i, p in enumerate(parts)]
    return CronSpec(fields[0][0], fields[1][0], fields[2][0], fields[3][0], fields[4][0],
                    fields[2][1], fields[4][1], " ".join(parts))


def get_zone(name: str) -> dt.tzinfo:
    """tzinfo for an IANA name or a fixed offset (see the module doc for Python 3.8)."""
    if name.upper() in ("UTC", "ETC/UTC", "Z", "GMT"):
        return UTC
    match = _OFFSET.match(name.strip())
    if match:
        sign = -1 if match.group(1) == "-" else 1
        delta = dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3) or 0))
        return dt.timezone(sign * delta, name)
    zone = _lookup_iana(name)
    if zone is None:
        raise InvalidInputError(
            f"time zone {name!r} is not available on this Python", code="TIMEZONE_UNAVAILABLE",
            details={"timezone": name},
            hint="use Python >= 3.9, install backports.zoneinfo or python-dateutil, "
                 "or give a fixed offset such as UTC+02:00")
    return zone


def _lookup_iana(name: str) -> Optional[dt.tzinfo]:
    try:
        import zoneinfo  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            from backports import zoneinfo  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            zoneinfo = None  # type: ignore[assignment,unused-ignore]
    if zoneinfo is not None:
        try:
            return zoneinfo.ZoneInfo(name)  # type: ignore[no-any-return,unused-ignore]
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return None
    try:
        from dateutil import tz  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    return tz.gettz(name)  # type: ignore[no-any-return,unused-ignore]
