"""Maintenance windows: when an unattended update may run, and whether a node step still fits.

A window is a 5-field cron expression (minute hour day-of-month month day-of-week, Vixie
semantics: ranges, lists, steps, month/day names, day-of-week 0 and 7 = Sunday, and when
both day fields are restricted a day matches either) that says when the window OPENS, a
duration in real elapsed minutes, and an IANA time zone the cron fields are read in.

Time zones: ``zoneinfo`` on Python 3.9+. On 3.8 (no zoneinfo) the zone is looked up in
``backports.zoneinfo`` or ``dateutil.tz`` when one of them is installed (both read the
system tz database); otherwise only ``UTC`` and fixed offsets (``UTC+02:00``, ``+0530``)
are accepted and an IANA name is refused with TIMEZONE_UNAVAILABLE: a window silently
shifted by a DST hour is worse than no window.

DST: a start inside the spring-forward gap opens when the gap ends (02:30 that does not
exist opens at 03:00 new time); an ambiguous start in the fall-back hour opens at its first
occurrence. Durations are elapsed time, so a 2 h window is 2 real hours on DST days too.
"""

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence

from pacemaker_update.cron import (  # noqa: F401 - re-exported: window's public names
    UTC,
    CronSpec,
    get_zone,
    parse_cron,
)
from pacemaker_update.errors import InvalidInputError, PacemakerUpdateError

SEARCH_DAYS = 800  # longer than any cron cycle that can fire (29 Feb needs up to 8 years: refused)


class WindowError(PacemakerUpdateError):
    """A maintenance window refuses a step, or none is open/known."""

    code = "WINDOW_ERROR"


@dataclass(frozen=True)
class WindowSpec:
    """One configured window: cron start, duration, zone."""

    start: CronSpec
    duration: dt.timedelta
    timezone: str
    zone: dt.tzinfo


@dataclass(frozen=True)
class Span:
    """One concrete opening of a window: UTC datetimes (end exclusive) and the display zone.

    Kept in UTC because Python compares and adds aware datetimes that share a tzinfo by
    wall clock, which is wrong across a DST change.
    """

    start: dt.datetime
    end: dt.datetime
    timezone: str
    zone: dt.tzinfo = UTC

    @property
    def local_start(self) -> dt.datetime:
        """Opening time in the window's zone."""
        return self.start.astimezone(self.zone)

    @property
    def local_end(self) -> dt.datetime:
        """Closing time in the window's zone."""
        return self.end.astimezone(self.zone)

    def contains(self, now: dt.datetime) -> bool:
        """Whether ``now`` lies inside the span."""
        return self.start <= now < self.end

    def to_dict(self) -> Dict[str, Any]:
        """JSON form: ISO times in the window's zone and in UTC."""
        return {"start": self.local_start.isoformat(), "end": self.local_end.isoformat(),
                "start_utc": self.start.isoformat(), "end_utc": self.end.isoformat(),
                "timezone": self.timezone}


def parse_window(data: Mapping[str, Any]) -> WindowSpec:
    """A config window ``{start, duration_minutes, timezone}`` → WindowSpec (validated)."""
    minutes = data.get("duration_minutes")
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 10080:
        raise InvalidInputError(f"duration_minutes must be 1..10080, got {minutes!r}",
                                code="INVALID_WINDOW", details={"field": "duration_minutes"})
    name = str(data.get("timezone") or "UTC")
    return WindowSpec(parse_cron(str(data.get("start", ""))), dt.timedelta(minutes=minutes),
                      name, get_zone(name))


def _localize(naive: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """Aware time for a wall-clock time: gap → shifted forward, ambiguous → first occurrence."""
    aware = naive.replace(tzinfo=zone, fold=0)
    return aware.astimezone(UTC).astimezone(zone)


def iter_openings(window: WindowSpec, since: dt.datetime, days: int = SEARCH_DAYS
                  ) -> Iterator[Span]:
    """Openings of ``window`` starting at or after ``since``, in order (bounded search)."""
    since = since.astimezone(UTC)
    day = since.astimezone(window.zone).date() - dt.timedelta(days=1)
    for _ in range(days + 2):
        if window.start.matches_day(day):
            for hour in sorted(window.start.hours):
                for minute in sorted(window.start.minutes):
                    start = _localize(dt.datetime.combine(day, dt.time(hour, minute)),
                                      window.zone).astimezone(UTC)
                    if start >= since:
                        yield Span(start, start + window.duration, window.timezone, window.zone)
        day += dt.timedelta(days=1)


def window_at(windows: Sequence[WindowSpec], now: dt.datetime) -> Optional[Span]:
    """The open span containing ``now`` (the one closing last if several), or None."""
    now = _require_aware(now)
    found: Optional[Span] = None
    for window in windows:
        for span in iter_openings(window, now - window.duration, days=window.duration.days + 2):
            if span.start > now:
                break
            if span.contains(now) and (found is None or span.end > found.end):
                found = span
    return found


def next_window(windows: Sequence[WindowSpec], now: dt.datetime) -> Optional[Span]:
    """The first span opening strictly after ``now`` (None when no window can ever open)."""
    now = _require_aware(now)
    best: Optional[Span] = None
    for window in windows:
        for span in iter_openings(window, now):
            if span.start > now:
                if best is None or span.start < best.start:
                    best = span
                break
    return best


def _require_aware(now: dt.datetime) -> dt.datetime:
    if now.tzinfo is None:
        raise InvalidInputError("now must be timezone-aware", code="NAIVE_DATETIME")
    return now.astimezone(UTC)


@dataclass(frozen=True)
class StepDecision:
    """Whether a node step may start now, and why not."""

    allowed: bool
    code: str  # OK, NO_WINDOWS (not enforced), OUTSIDE_WINDOW, WINDOW_TOO_SHORT
    message: str
    window: Optional[Span]
    next_window: Optional[Span]
    expected_seconds: float
    remaining_seconds: float

    def to_dict(self) -> Dict[str, Any]:
        """JSON form for action results and reports."""
        return {"allowed": self.allowed, "code": self.code, "message": self.message,
                "window": self.window.to_dict() if self.window else None,
                "next_window": self.next_window.to_dict() if self.next_window else None,
                "expected_seconds": round(self.expected_seconds, 1),
                "remaining_seconds": round(self.remaining_seconds, 1)}


def estimate_step_seconds(measured: Sequence[float], default: float) -> float:
    """Expected length of the next node step: the longest earlier step, else ``default``.

    The longest, not the mean: a step that starts and cannot finish before the window closes
    is exactly what the check exists to prevent, so the estimate errs long.
    """
    values = [float(v) for v in measured if isinstance(v, (int, float)) and v > 0]
    return max(values) if values else float(default)


def can_start_step(now: dt.datetime, windows: Sequence[WindowSpec], expected_seconds: float,
                   safety_margin_seconds: float = 300.0) -> StepDecision:
    """Whether a node step expected to take ``expected_seconds`` may start at ``now``.

    It may when a window is open and at least ``expected + margin`` of it remains. No
    configured window = not enforced (allowed, code NO_WINDOWS).
    """
    now = _require_aware(now)
    if not windows:
        return StepDecision(True, "NO_WINDOWS", "no maintenance window is configured",
                            None, None, expected_seconds, 0.0)
    span = window_at(windows, now)
    upcoming = next_window(windows, now)
    opens = _when(upcoming)
    if span is None:
        return StepDecision(False, "OUTSIDE_WINDOW",
                            f"no maintenance window is open now; {opens}",
                            None, upcoming, expected_seconds, 0.0)
    remaining = (span.end - now).total_seconds()
    needed = expected_seconds + safety_margin_seconds
    if remaining < needed:
        return StepDecision(
            False, "WINDOW_TOO_SHORT",
            f"the window closes at {span.local_end.isoformat()} "
            f"({remaining / 60:.0f} min left) but the next step needs about "
            f"{expected_seconds / 60:.0f} min + {safety_margin_seconds / 60:.0f} min margin; "
            f"{opens}",
            span, upcoming, expected_seconds, remaining)
    return StepDecision(True, "OK", f"{remaining / 60:.0f} min left in the window, the step "
                        f"needs about {needed / 60:.0f} min", span, upcoming,
                        expected_seconds, remaining)


def _when(span: Optional[Span]) -> str:
    if span is None:
        return "no later window can open (check the cron expression)"
    return f"the next window opens at {span.local_start.isoformat()} ({span.timezone})"


_FLAG = re.compile(r"^\s*(?:(?P<days>[A-Za-z]{3}(?:[-,][A-Za-z]{3})*)\s+)?"
                   r"(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*/\s*(?P<dur>(?:\d+[hm])+)"
                   r"(?:\s+(?P<tz>\S+))?\s*$")
_DUR = re.compile(r"(\d+)([hm])")


def parse_window_flag(text: str, default_timezone: str = "UTC") -> Dict[str, Any]:
    """CLI ``--window "Sat 02:00/2h [Europe/Berlin]"`` → a config window mapping.

    Days are optional (every day), may be a list or range (``Mon-Fri``, ``Sat,Sun``);
    the duration is ``2h``, ``90m`` or ``1h30m``. The result has the config's shape
    (``start`` cron, ``duration_minutes``, ``timezone``) and has passed parse_window.
    """
    match = _FLAG.match(str(text))
    if not match:
        raise InvalidInputError(
            f"--window {text!r} is not like 'Sat 02:00/2h' or 'Mon-Fri 22:30/90m Europe/Berlin'",
            code="INVALID_WINDOW", details={"field": "window", "value": text})
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    if hour > 23 or minute > 59:
        raise InvalidInputError(f"--window {text!r}: {hour:02d}:{minute:02d} is not a time",
                                code="INVALID_WINDOW", details={"field": "window"})
    minutes = sum(int(n) * (60 if unit == "h" else 1) for n, unit in _DUR.findall(match["dur"]))
    days = (match.group("days") or "*").lower()
    window = {"start": f"{minute} {hour} * * {days}", "duration_minutes": minutes,
              "timezone": match.group("tz") or default_timezone}
    parse_window(window)
    return window


_APS_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def cron_timer_parameters(window: Mapping[str, Any]) -> Dict[str, Any]:
    """``core.st2.CronTimer`` trigger parameters that fire when ``window`` opens.

    st2's CronTimer is APScheduler's cron trigger, whose numeric day_of_week starts at
    0 = MONDAY (cron: 0 = Sunday), so days are written as names. Only '*', single values,
    lists and ranges are translated; steps are kept as APScheduler reads them the same way.
    """
    spec = parse_window(window)
    if spec.start.day_restricted and spec.start.weekday_restricted:
        raise InvalidInputError(
            f"cron {spec.start.text!r} restricts both day fields (cron ORs them, CronTimer "
            "ANDs them): write two windows", code="INVALID_WINDOW", details={"field": "start"})
    minute, hour, day, month, _ = spec.start.text.split()
    params: Dict[str, Any] = {"timezone": spec.timezone, "minute": minute, "hour": hour,
                              "second": 0}
    if day != "*":
        params["day"] = day
    if month != "*":
        params["month"] = month
    if spec.start.weekday_restricted:
        params["day_of_week"] = ",".join(_APS_DAYS[d] for d in sorted(spec.start.weekdays))
    return params


def parse_clock(now: Optional[str]) -> dt.datetime:
    """The ``now`` parameter of the window actions: an ISO 8601 time WITH its offset (for
    tests and replays), or the current UTC time when empty. Anything else is INVALID_INPUT,
    never a guess: a window decision on a misread clock could start a node out of hours."""
    if not now:
        return dt.datetime.now(dt.timezone.utc)
    try:
        clock = dt.datetime.fromisoformat(str(now))
    except ValueError:
        clock = None
    if clock is None or clock.tzinfo is None:
        raise InvalidInputError(
            f"now must be an ISO 8601 time with its UTC offset, e.g. 2026-11-28T02:00:00+01:00;"
            f" got {str(now)[:60]!r}", details={"field": "now", "value": str(now)[:60]})
    return clock
