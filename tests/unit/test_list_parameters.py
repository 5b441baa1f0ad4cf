"""The listing's query parameters as a real HTTP client sends them: `since` is RFC 3339 with any offset (normalised
to UTC, the form created_at is stored in), `limit` a whole number from 1 to 100; anything else is a clean 400,
never a Python message."""

from __future__ import annotations

import pytest

from imgpipe.uploads import ApiError, parse_limit, parse_since


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-12-02T08:00:00Z", "2026-12-02T08:00:00.000Z"),
        ("2026-12-02T08:00:00z", "2026-12-02T08:00:00.000Z"),
        ("2026-12-02T09:00:00+01:00", "2026-12-02T08:00:00.000Z"),
        ("2026-12-01T23:30:00.25-08:30", "2026-12-02T08:00:00.250Z"),
        (None, None),
        ("", None),
    ],
)
def test_since_is_normalised_to_utc(given: str | None, expected: str | None) -> None:
    assert parse_since(given) == expected


@pytest.mark.parametrize(
    "given", ["yesterday", "2026-12-02", "2026-12-02T08:00:00", "12/02/2026 08:00Z", "2026-13-02T08:00:00Z", "1e9"]
)
def test_anything_else_is_a_clean_400(given: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_since(given)
    assert (caught.value.status, caught.value.code) == (400, "invalid_request")
    assert "RFC 3339" in caught.value.message


@pytest.mark.parametrize("given", ["abc", "0", "101", "-1", "1.5", " 5", "²"])
def test_limit_must_be_a_whole_number_in_range(given: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_limit(given)
    assert caught.value.status == 400 and "invalid literal" not in caught.value.message


def test_limit_defaults_to_25_and_takes_1_to_100() -> None:
    assert (parse_limit(None), parse_limit("1"), parse_limit("100")) == (25, 1, 100)
