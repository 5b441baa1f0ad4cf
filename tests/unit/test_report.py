"""The local BI report: the analytics module's SQL files on DuckDB over real export files (made by
imgpipe.export from stream changes), with exact expected numbers for a known mix; tombstones and expiry; the
dialect shim; the HTML page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from imgpipe.export import Change
from scripts.dev import report
from tests.analytics_mix import NOW, changes_of, image, write_exports, write_known_mix


@pytest.fixture
def exports(tmp_path: Path) -> Path:
    return write_known_mix(tmp_path)


def results(directory: Path, now: datetime = NOW) -> dict[str, list[dict[str, Any]]]:
    return {r.name: r.as_dicts() for r in report.run_reports(report.connect(directory), now)}


def test_every_report_returns_the_exact_numbers_of_the_known_mix(exports: Path) -> None:
    got = results(exports)
    assert set(got) == {"formats", "latency", "rejections", "volume_by_hour", "volumes"}
    assert got["volumes"] == [
        {"source": "api", "format": "jpeg", "status": "PROCESSED", "images": 1, "bytes": 5000},
        {"source": "api", "format": "png", "status": "PROCESSED", "images": 2, "bytes": 4000},
        {"source": "api", "format": "png", "status": "REJECTED", "images": 2, "bytes": 400},
        {"source": "kafka", "format": "jpeg", "status": "REJECTED", "images": 1, "bytes": 700},
        {"source": "kafka", "format": "webp", "status": "PROCESSED", "images": 2, "bytes": 6000},
    ]
    assert got["rejections"] == [
        {"reject_reason": "size_mismatch", "source": "api", "images": 2},
        {"reject_reason": "truncated", "source": "kafka", "images": 1},
    ]
    # nearest-rank percentiles: the value at rank ceil(p * n)
    assert got["latency"] == [
        {
            "source": "api",
            "images": 3,
            "latency_p50_ms": 300,
            "latency_p95_ms": 500,
            "latency_p99_ms": 500,
            "latency_max_ms": 500,
            "processing_p50_ms": 60,
        },
        {
            "source": "kafka",
            "images": 2,
            "latency_p50_ms": 1000,
            "latency_p95_ms": 2000,
            "latency_p99_ms": 2000,
            "latency_max_ms": 2000,
            "processing_p50_ms": 100,
        },
    ]
    assert got["volume_by_hour"] == [
        {"hour": "2026-12-01T09", "source": "api", "images": 3},
        {"hour": "2026-12-01T09", "source": "kafka", "images": 1},
        {"hour": "2026-12-01T10", "source": "api", "images": 2},
        {"hour": "2026-12-01T10", "source": "kafka", "images": 2},
    ]
    assert got["formats"] == [
        {"format": "png", "images": 4, "mean_bytes": 1100, "mean_megapixels": 0.76},
        {"format": "jpeg", "images": 2, "mean_bytes": 2850, "mean_megapixels": 3.0},
        {"format": "webp", "images": 2, "mean_bytes": 3000, "mean_megapixels": 1.0},
    ]


def test_a_purged_or_expired_image_is_in_no_report(tmp_path: Path) -> None:
    kept = image("kept", "kafka", "11:00", "avif", 1234, (64, 64), latency_ms=50, processing_ms=20)
    refused = image("refused", "api", "11:05", "png", 10, (1, 1), reject_reason="truncated")
    write_exports(tmp_path, [changes_of([kept, refused], start=100)])
    assert all(rows for rows in results(tmp_path).values())  # both counted in every report while they live
    assert all(not rows for rows in results(tmp_path, now=NOW + timedelta(days=8)).values())  # TTL not yet run

    write_exports(tmp_path, [[Change("REMOVE", "200", NOW, None, kept, by_ttl=True)]])
    assert "avif" not in str(results(tmp_path)) and results(tmp_path)["rejections"]  # only that one went
    write_exports(tmp_path, [[Change("REMOVE", "201", NOW, None, refused, by_ttl=False)]])  # the audit's
    assert all(not rows for rows in results(tmp_path).values())  # the tombstones: gone from every result


def by_tenant(directory: Path, tenant: str) -> dict[str, list[dict[str, Any]]]:
    return {r.name: r.as_dicts() for r in report.run_reports(report.connect(directory), NOW, tenant=tenant)}


def test_a_tenants_reports_hold_its_images_only_and_its_purges_too(exports: Path) -> None:
    team_a, team_b = by_tenant(exports, "team-a"), by_tenant(exports, "team-b")
    # team-a's purged png (9999 bytes) is gone from its report, as from the whole one
    assert team_a["volumes"] == [
        {"source": "api", "format": "png", "status": "PROCESSED", "images": 2, "bytes": 4000},
        {"source": "api", "format": "png", "status": "REJECTED", "images": 1, "bytes": 150},
        {"source": "kafka", "format": "webp", "status": "PROCESSED", "images": 1, "bytes": 2000},
    ]
    assert team_b["rejections"] == [
        {"reject_reason": "size_mismatch", "source": "api", "images": 1},
        {"reject_reason": "truncated", "source": "kafka", "images": 1},
    ]
    assert [r["latency_max_ms"] for r in team_b["latency"]] == [500, 2000]
    assert all(not rows for rows in by_tenant(exports, "team-c").values())  # a tenant with nothing sees nothing


@pytest.mark.parametrize(
    ("name", "key", "counts"),
    [
        ("volumes", ("source", "format", "status"), ("images", "bytes")),
        ("rejections", ("reject_reason", "source"), ("images",)),
        ("volume_by_hour", ("hour", "source"), ("images",)),
    ],
)
def test_the_tenants_reports_add_up_to_the_whole(
    exports: Path, name: str, key: tuple[str, ...], counts: tuple[str, ...]
) -> None:
    summed: dict[tuple[Any, ...], list[int]] = {}
    for tenant in ("team-a", "team-b"):
        for row in by_tenant(exports, tenant)[name]:
            totals = summed.setdefault(tuple(row[k] for k in key), [0] * len(counts))
            for i, column in enumerate(counts):
                totals[i] += row[column]
    whole = {tuple(r[k] for k in key): [r[c] for c in counts] for r in results(exports)[name]}
    assert summed == whole


@pytest.mark.parametrize("tenant", ["", "Team-A", "team-a' OR '1'='1", "a" * 64, "team_a"])
def test_a_malformed_tenant_is_refused_before_any_query(exports: Path, tenant: str) -> None:
    with pytest.raises(report.UnknownTenant, match="tenant id"):
        report.run_reports(report.connect(exports), NOW, tenant=tenant)


def test_the_tenant_is_a_bound_parameter_not_sql(exports: Path) -> None:
    # Even past the check, a quote-laden value is only ever compared as a value.
    con = report.connect(exports)
    sql = report.duckdb_sql("volumes", int(NOW.timestamp()), by_tenant=True)
    assert "$tenant" in sql and "team-a" not in sql
    assert con.execute(sql, {"tenant": "x' OR '1'='1"}).fetchall() == []
    assert len(con.execute(sql, {"tenant": "team-a"}).fetchall()) == 3


def test_no_exports_yet_gives_every_report_with_no_rows(tmp_path: Path) -> None:
    got = report.run_reports(report.connect(tmp_path / "missing"), NOW)
    assert [r.name for r in got] == report.report_names() and all(r.rows == () for r in got)
    columns = {r.name: r.columns for r in got}
    assert columns["volumes"] == ("source", "format", "status", "images", "bytes")
    assert columns["latency"][:3] == ("source", "images", "latency_p50_ms")


def test_a_corrupt_export_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "dt=2026-12-01" / "hour=09").mkdir(parents=True)
    (tmp_path / "dt=2026-12-01" / "hour=09" / "1-2.json.gz").write_bytes(b"not gzip")
    with pytest.raises(report.ReportError, match="not a gzip export file"):
        report.connect(tmp_path)


# ------------------------------------------------------------------------------------------- the dialect shim


@pytest.mark.parametrize("name", report.report_names())
def test_the_duckdb_text_is_the_athena_text_with_only_the_shim_table_and_clock_changed(name: str) -> None:
    athena, local = report.athena_sql(name, "imgpipe_x_analytics"), report.duckdb_sql(name, 1_800_000_000)
    undone = local
    for athena_text, duckdb_text, _ in report.DIALECT_SHIM:
        undone = undone.replace(duckdb_text, athena_text)
    undone = undone.replace(f"FROM {report.CHANGES_VIEW} AS", 'FROM "imgpipe_x_analytics"."image_changes" AS')
    assert undone.replace("1800000000", report.ATHENA_NOW) == athena
    assert "{{" not in athena and "{{" not in local


@pytest.mark.parametrize(("athena_text", "duckdb_text", "why"), report.DIALECT_SHIM)
def test_each_shim_entry_is_a_real_difference_between_the_engines(athena_text: str, duckdb_text: str, why: str) -> None:
    con = duckdb.connect()
    # Without the entry DuckDB refuses the Athena text (when it learns it, this fails: drop the entry) ...
    with pytest.raises(duckdb.CatalogException):
        con.execute(f"SELECT {athena_text}x, 0.5) FROM range(3) t(x)")  # noqa: S608 (the shim's constants)
    # ... and the DuckDB text answers the same question.
    assert con.execute(f"SELECT {duckdb_text}x, 0.5) FROM range(3) t(x)").fetchone() == (1,)  # noqa: S608
    assert why


def test_athena_has_no_duckdb_clock_function_either() -> None:
    # The clock is a template parameter, not a shim entry: Athena's to_unixtime does not exist in DuckDB.
    with pytest.raises(duckdb.CatalogException):
        duckdb.connect().execute(f"SELECT {report.ATHENA_NOW}")


def test_every_report_is_valid_duckdb_over_the_schema_typed_table(tmp_path: Path) -> None:
    con = report.connect(tmp_path)
    for name in report.report_names():
        con.execute("EXPLAIN " + report.duckdb_sql(name, int(NOW.timestamp())))


# ------------------------------------------------------------------------------------------- output


def test_tables_print_every_column_and_value(exports: Path) -> None:
    [rejections] = [r for r in report.run_reports(report.connect(exports), NOW) if r.name == "rejections"]
    text = report.format_table(rejections)
    assert text.splitlines()[0] == "rejections — Why images were rejected, by source."
    assert re.search(r"size_mismatch\s+api\s+2", text) and re.search(r"truncated\s+kafka\s+1", text)


def test_the_html_page_has_the_four_charts_and_every_table_and_fetches_nothing(exports: Path) -> None:
    page = report.render_html(report.run_reports(report.connect(exports), NOW), NOW, "a test <folder>")
    for chart in ("chart-volume", "chart-rejections", "chart-latency", "chart-formats"):
        assert f'id="{chart}"' in page
    for name in report.report_names():
        assert f'id="table-{name}"' in page
    assert (
        "a test &lt;folder&gt;" in page
        and "<script" not in page
        and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    )
    # the bars carry their values: rejections 2 and 1, latency api p50 300
    values = re.findall(r'fill="#d62728" data-value="([\d.]+)"', page)
    assert values == ["2", "1"]
    assert 'data-value="300"' in page


def test_a_hostile_value_in_an_export_is_escaped_in_the_page(tmp_path: Path) -> None:
    hostile = image("x", "api", "11:00", "png", 10, (1, 1), reject_reason='<img src=x onerror="alert(1)">')
    write_exports(tmp_path, [changes_of([hostile], start=100)])
    page = report.render_html(report.run_reports(report.connect(tmp_path), NOW), NOW, "here")
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


def test_the_cli_reads_a_folder_prints_the_tables_and_writes_the_page(
    exports: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert report.main(["--exports", str(exports), "--out", str(out), "--as-of", NOW.isoformat()]) == 0
    printed = capsys.readouterr().out
    assert "volumes — Images and bytes by source, format and status." in printed
    assert re.search(r"kafka\s+webp\s+PROCESSED\s+2\s+6000", printed)
    assert (out / "index.html").read_text().count("<table>") == len(report.report_names())


def test_the_cli_says_what_to_do_when_nothing_was_exported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report.main(["--exports", str(tmp_path / "none"), "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "nothing exported yet: `make demo`" in printed and printed.count("(no rows)") == len(report.report_names())


def test_the_cli_refuses_a_bad_clock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report.main(["--exports", str(tmp_path), "--out", str(tmp_path), "--as-of", "yesterday"]) == 2
    assert "error:" in capsys.readouterr().err


def test_the_cli_reports_one_tenant_and_says_so(
    exports: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["--exports", str(exports), "--out", str(out), "--as-of", NOW.isoformat(), "--tenant", "team-b"]
    assert report.main(argv) == 0
    printed = capsys.readouterr().out
    assert "tenant team-b only" in printed and "tenant team-b only" in (out / "index.html").read_text()
    assert re.search(r"kafka\s+webp\s+PROCESSED\s+1\s+4000", printed)  # k2 only: k1 is team-a's


def test_the_cli_refuses_a_bad_tenant_before_fetching(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # no --exports: a valid tenant would go and fetch from ENV=local; the bad one stops first
    assert report.main(["--out", str(tmp_path), "--tenant", "Team A"]) == 2
    assert "error: tenant 'Team A'" in capsys.readouterr().err
