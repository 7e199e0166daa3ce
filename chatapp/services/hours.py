"""Support hours: when people answer, and how to tell a customer when they are back.

`SUPPORT_HOURS` is a list of day ranges with opening times, separated by ";" or ",":
"Mon-Fri 09:00-17:00; Sat 10:00-14:00", read in `SUPPORT_TIMEZONE`. Empty means always open.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(r"^(\w{3})(?:\s*-\s*(\w{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class HoursError(ValueError):
    """SUPPORT_HOURS or SUPPORT_TIMEZONE cannot be read; the message says how to write it."""


class SupportHours:
    def __init__(self, spec: str = "", timezone: str = "UTC") -> None:
        try:
            self.zone = ZoneInfo(timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            raise HoursError(f"SUPPORT_TIMEZONE {timezone!r} is not a time zone like Europe/London") from None
        self.timezone = timezone or "UTC"
        self.spec = spec.strip()
        self._open: dict[int, list[tuple[time, time]]] = {day: [] for day in range(7)}
        for part in filter(None, (p.strip() for p in re.split(r"[;,]", self.spec))):
            match = _RULE.match(part.lower())
            if not match or match.group(1) not in DAYS or (match.group(2) or "mon") not in DAYS:
                raise HoursError(f"SUPPORT_HOURS part {part!r} should look like 'Mon-Fri 09:00-17:00'")
            first = DAYS.index(match.group(1))
            last = DAYS.index(match.group(2)) if match.group(2) else first
            try:
                opens = time(int(match.group(3)), int(match.group(4)))
                closes = time(int(match.group(5)), int(match.group(6)))
            except ValueError:
                raise HoursError(f"SUPPORT_HOURS part {part!r} has an impossible time") from None
            for offset in range((last - first) % 7 + 1):
                self._open[(first + offset) % 7].append((opens, closes))

    @property
    def always(self) -> bool:
        return not any(self._open.values())

    def is_open(self, when: datetime) -> bool:
        if self.always:
            return True
        local = when.astimezone(self.zone)
        return any(opens <= local.time() < closes for opens, closes in self._open[local.weekday()])

    def next_open(self, when: datetime) -> datetime | None:
        """The next moment the team is in (`when` itself if open now)."""
        if self.is_open(when):
            return when
        local = when.astimezone(self.zone)
        for days in range(8):
            day = (local + timedelta(days=days)).date()
            for opens, _ in sorted(self._open[day.weekday()]):
                start = datetime.combine(day, opens, self.zone)
                if start > local:
                    return start
        return None

    def back_phrase(self, when: datetime) -> str:
        """'today at 09:00', 'tomorrow at 09:00' or 'on Monday at 09:00' (the team's time)."""
        back = self.next_open(when)
        if back is None:
            return "soon"
        local = when.astimezone(self.zone)
        days = (back.date() - local.date()).days
        day = "today" if days == 0 else "tomorrow" if days == 1 else f"on {back:%A}"
        return f"{day} at {back:%H:%M} ({self.timezone})"
