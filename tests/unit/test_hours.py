"""Support hours: when the team is in, and how a customer is told when it is back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chatapp.services.hours import HoursError, SupportHours

HOURS = SupportHours("Mon-Fri 09:00-17:00; Sat 10:00-14:00", "Europe/London")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("when, open_", [
    ("2026-12-01T10:00", True),   # Tuesday morning (London is on UTC in winter)
    ("2026-12-01T17:00", False),  # closing time itself
    ("2026-12-05T11:00", True),   # Saturday
    ("2026-12-06T11:00", False),  # Sunday
    ("2026-07-01T08:30", True),   # summer: 09:30 in London
])
def test_open_or_closed(when, open_):
    assert HOURS.is_open(at(when)) is open_


def test_the_customer_is_told_when_the_team_is_back():
    assert HOURS.back_phrase(at("2026-12-01T18:00")) == "tomorrow at 09:00 (Europe/London)"
    assert HOURS.back_phrase(at("2026-12-02T07:00")) == "today at 09:00 (Europe/London)"
    assert HOURS.back_phrase(at("2026-12-05T15:00")) == "on Monday at 09:00 (Europe/London)"


def test_no_hours_means_always_in():
    assert SupportHours().is_open(at("2026-12-06T03:00"))


@pytest.mark.parametrize("spec, zone", [("Funday 9-5", "UTC"), ("Mon 25:00-26:00", "UTC"),
                                        ("Mon-Fri 09:00-17:00", "Mars/Olympus")])
def test_bad_settings_say_how_to_write_them(spec, zone):
    with pytest.raises(HoursError):
        SupportHours(spec, zone)
