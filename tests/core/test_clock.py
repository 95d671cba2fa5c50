"""Dates and timestamps as the manifests, --at and --within write them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from reconciler.core import clock


def test_a_date_means_midnight_utc_and_a_timestamp_keeps_its_zone() -> None:
    assert clock.parse_when("2027-01-31") == datetime(2027, 1, 31, tzinfo=UTC)
    assert clock.parse_when(date(2027, 1, 31)) == datetime(2027, 1, 31, tzinfo=UTC)
    assert clock.parse_when("2027-01-31T10:00:00+02:00") == datetime(2027, 1, 31, 8, tzinfo=UTC)
    assert clock.parse_when("2027-01-31T08:00Z") == datetime(2027, 1, 31, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2027-02-30", "is not a valid date"),
        ("2027-01-31T10:00:00", "needs a zone"),
        ("next tuesday", "is not a date"),
        (42, "expected a date"),
        (datetime(2027, 1, 31), "needs a zone"),
    ],
)
def test_bad_values_say_why(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        clock.parse_when(value)


def test_frozen_sets_now_and_restores_it() -> None:
    at = datetime(2030, 5, 1, tzinfo=UTC)
    with clock.frozen(at):
        assert clock.now() == at
        with clock.frozen(None):
            assert clock.now() != at
        assert clock.now() == at
    assert clock.now() != at


def test_spans_and_display() -> None:
    assert clock.parse_span("30d") == timedelta(days=30)
    assert clock.parse_span("2w") == timedelta(weeks=2)
    with pytest.raises(ValueError, match="is not a duration"):
        clock.parse_span("soon")
    assert clock.show(datetime(2027, 1, 31, tzinfo=UTC)) == "2027-01-31"
    assert clock.show(datetime(2027, 1, 31, 8, 30, tzinfo=UTC)) == "2027-01-31T08:30:00Z"
