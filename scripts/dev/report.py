"""The BI reports, locally: the Athena reports of terraform/modules/analytics/queries/*.sql run on DuckDB over
the exported files, printed as tables and written as one self-contained HTML page with charts.

    python -m scripts.dev.report [--exports DIR] [--out dist/report] [--as-of +8d | ISO] [--tenant ID]

Without --exports the files are fetched from ENV=local's analytics bucket (the deployed outputs name it).

The SQL files are the single source. `athena_sql` renders a report exactly as the analytics module renders its
named queries (a test compares it with the ones deployed into the emulator); `duckdb_sql` is that text with the
template's table and clock bound for DuckDB and DIALECT_SHIM applied — the only place where the two engines
truly differ, each entry tested to fail on DuckDB without it. The report's clock (`--as-of`) can be moved like
the retention time travel's, so "expired" means the same thing in both. `--tenant` runs every report over one
tenant's rows only: the change table is narrowed before anything else reads it, with the tenant bound as a query
parameter, never spliced into the SQL.
"""

from __future__ import annotations

import argparse
import gzip
import html
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imgpipe.auth import is_tenant_id
from imgpipe.export import EXPORT_COLUMNS
from scripts.cli import REPO_ROOT, command

QUERIES_DIR = REPO_ROOT / "terraform" / "modules" / "analytics" / "queries"
CHANGES_VIEW = "image_changes"  # the Glue table's name, as a DuckDB table over the fetched files
ATHENA_NOW = "to_unixtime(current_timestamp)"

# (Athena/Trino text, DuckDB text, why). Trino's approx_percentile is a q-digest estimate that returns values of
# the column; DuckDB has no approx_percentile, and quantile_disc returns the exact value at that rank, which is
# what the estimate converges to (and what the tests' exact numbers need).
DIALECT_SHIM: tuple[tuple[str, str, str], ...] = (
    ("approx_percentile(", "quantile_disc(", "DuckDB has no approx_percentile; quantile_disc is its exact form"),
)
_DUCKDB_TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "boolean": "BOOLEAN"}
_COMMENT_LINE = re.compile(r"(?m)^--.*\n")


class ReportError(RuntimeError):
    """The report cannot run: nothing deployed, no analytics bucket, unreadable exports."""


def report_names(queries_dir: Path = QUERIES_DIR) -> list[str]:
    """Every report, in file order; `_`-files are shared fragments, not reports (as in the module)."""
    return sorted(p.stem for p in queries_dir.glob("*.sql") if not p.stem.startswith("_"))


def report_title(name: str, queries_dir: Path = QUERIES_DIR) -> str:
    """The file's first comment line: the named query's description in Athena, the heading here."""
    first = (queries_dir / f"{name}.sql").read_text().split("\n", 1)[0]
    return first.removeprefix("-- ").strip()


def _render(name: str, changes: str, now: str, queries_dir: Path) -> str:
    # Mirrors the analytics module's locals: comment lines dropped from the shared fragment, which is trimmed and
    # bound to the table, then inlined in parentheses; the clock placeholder replaced last.
    fragment = _COMMENT_LINE.sub("", (queries_dir / "_current_images.sql").read_text()).strip()
    fragment = fragment.replace("{{changes}}", changes)
    text = (queries_dir / f"{name}.sql").read_text().replace("{{current_images}}", f"(\n{fragment}\n)")
    return text.replace("{{now_epoch}}", now)


def athena_sql(name: str, database: str, queries_dir: Path = QUERIES_DIR) -> str:
    """The named query `name` as the analytics module deploys it for Glue database `database`."""
    return _render(name, f'"{database}"."{CHANGES_VIEW}"', ATHENA_NOW, queries_dir)


# One tenant's changes: every row of an image (tombstones too) carries its tenant, so narrowing the changes before
# the latest-row selection gives exactly the rows that selection would give that tenant afterwards.
TENANT_CHANGES = "(SELECT * FROM " + CHANGES_VIEW + " WHERE tenant_id = $tenant)"  # noqa: S608 (constants)


def duckdb_sql(name: str, now_epoch: int, queries_dir: Path = QUERIES_DIR, *, by_tenant: bool = False) -> str:
    """The same report for DuckDB: the table is the local one, the clock is `now_epoch`, plus DIALECT_SHIM.
    `by_tenant`: over TENANT_CHANGES, whose `$tenant` parameter the caller binds."""
    text = _render(name, TENANT_CHANGES if by_tenant else CHANGES_VIEW, str(int(now_epoch)), queries_dir)
    for athena, duckdb, _why in DIALECT_SHIM:
        text = text.replace(athena, duckdb)
    return text


# ------------------------------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Result:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def connect(exports_dir: Path) -> Any:
    """DuckDB in memory with `image_changes` loaded from every export file below `exports_dir`, typed by the
    export schema (as the Glue table is); an empty table when there are none yet."""
    import duckdb

    con = duckdb.connect(":memory:")
    columns = {name: _DUCKDB_TYPES[kind] for name, kind in EXPORT_COLUMNS.items()}
    files = sorted(exports_dir.rglob("*.json.gz")) if exports_dir.is_dir() else []
    if not files:
        con.execute(f"CREATE TABLE {CHANGES_VIEW} ({', '.join(f'{n} {t}' for n, t in columns.items())})")
        return con
    for path in files:  # a clear error naming the file, rather than DuckDB's on the whole glob
        try:
            with gzip.open(path) as handle:
                handle.read(1)
        except (OSError, EOFError) as err:
            raise ReportError(f"{path}: not a gzip export file ({err})") from err
    loaded = con.read_json([str(p) for p in files], format="newline_delimited", compression="gzip", columns=columns)
    loaded.create(CHANGES_VIEW)
    return con


class UnknownTenant(ValueError):
    """--tenant is not a tenant id (the form imgpipe.auth.is_tenant_id accepts)."""


def check_tenant(tenant: str | None) -> None:
    if tenant is not None and not is_tenant_id(tenant):
        raise UnknownTenant(f"tenant {tenant!r}: a tenant id is 1-63 lowercase letters, digits or hyphens")


def run_reports(con: Any, now: datetime, queries_dir: Path = QUERIES_DIR, tenant: str | None = None) -> list[Result]:
    """Every report as of `now`; with `tenant`, over that tenant's rows only."""
    check_tenant(tenant)
    params = {"tenant": tenant} if tenant is not None else None
    results = []
    for name in report_names(queries_dir):
        sql = duckdb_sql(name, int(now.timestamp()), queries_dir, by_tenant=tenant is not None)
        cursor = con.execute(sql, params) if params else con.execute(sql)
        columns = tuple(d[0] for d in cursor.description)
        rows = tuple(tuple(_plain(v) for v in row) for row in cursor.fetchall())
        results.append(Result(name, report_title(name, queries_dir), columns, rows))
    return results


def _plain(value: Any) -> Any:
    # round(avg(..)) comes back as a float; whole numbers print and compare as ints.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def fetch_exports(s3: Any, bucket: str, prefix: str, dest: Path) -> int:
    """Mirrors the bucket's export files into `dest` (emptied first: a purged export must not linger here)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            key = str(entry["Key"])
            relative = Path(key.removeprefix(prefix))
            if ".." in relative.parts or relative.is_absolute() or not key.endswith(".json.gz"):
                continue  # only export files, and only below dest
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            count += 1
    return count


# ------------------------------------------------------------------------------------------------- output


def format_table(result: Result) -> str:
    cells = [list(result.columns)] + [["" if v is None else str(v) for v in row] for row in result.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(result.columns))]
    lines = [f"{result.name} — {result.title}"]
    for index, row in enumerate(cells):
        lines.append("  " + "  ".join(c.rjust(w) if index else c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    if not result.rows:
        lines.append("  (no rows)")
    return "\n".join(lines)


# One colour per series, fixed so the page reads the same every time (and the screenshot test can find them).
SOURCE_COLOURS = {"api": "#1f77b4", "kafka": "#ff7f0e"}
OTHER_COLOUR = "#7f7f7f"
REJECTION_COLOUR = "#d62728"
FORMAT_COLOUR = "#2ca02c"
PERCENTILE_COLOURS = {"latency_p50_ms": "#9467bd", "latency_p95_ms": "#8c564b", "latency_p99_ms": "#e377c2"}


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _bars(title: str, labelled: Sequence[tuple[str, float, str]], unit: str) -> str:
    """Horizontal bars, one per (label, value, colour): the longest is the chart's width."""
    row_h, label_w, bar_w = 26, 200, 300
    top = max((v for _, v, _ in labelled), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-label="{_esc(title)}" width="{label_w + bar_w + 90}" '
        f'height="{max(1, len(labelled)) * row_h + 10}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, (label, value, colour) in enumerate(labelled):
        y, width = 5 + i * row_h, round(bar_w * value / top)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{_esc(label)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{width}" height="{row_h - 8}" fill="{colour}" '
            f'data-value="{_number(value)}"><title>{_esc(label)}: {_number(value)} {unit}</title></rect>'
            f'<text x="{label_w + width + 6}" y="{y + 16}">{_number(value)}</text>'
        )
    if not labelled:
        parts.append('<text x="10" y="20">no data yet</text>')
    parts.append("</svg>")
    return "".join(parts)


def _stacked_columns(title: str, hours: Sequence[str], series: dict[str, dict[str, int]]) -> str:
    """Images per hour, one column per hour stacked by source."""
    col_w, height, left, bottom = 28, 200, 40, 80
    totals = [sum(series[s].get(h, 0) for s in series) for h in hours]
    top = max(totals, default=0) or 1
    width = left + max(1, len(hours)) * col_w + 20
    parts = [
        f'<svg class="chart" role="img" aria-label="{_esc(title)}" width="{width}" height="{height + bottom}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<text x="4" y="14">{top}</text><line x1="{left}" y1="{height}" x2="{width - 10}" y2="{height}" '
        'stroke="#444"/>',
    ]
    for i, hour in enumerate(hours):
        x, base = left + i * col_w, float(height)
        for source, counts in series.items():
            n = counts.get(hour, 0)
            if not n:
                continue
            h = (height - 20) * n / top
            base -= h
            colour = SOURCE_COLOURS.get(source, OTHER_COLOUR)
            parts.append(
                f'<rect x="{x + 4}" y="{base:.1f}" width="{col_w - 8}" height="{h:.1f}" fill="{colour}" '
                f'data-value="{n}"><title>{_esc(hour)}Z {_esc(source)}: {n}</title></rect>'
            )
        parts.append(
            f'<text x="{x + col_w / 2}" y="{height + 12}" transform="rotate(60 {x + col_w / 2} {height + 12})" '
            f'font-size="10">{_esc(hour[5:].replace("T", " "))}h</text>'
        )
    if not hours:
        parts.append(f'<text x="{left + 10}" y="{height / 2}">no data yet</text>')
    parts.append("</svg>")
    return "".join(parts)


def _legend(colours: dict[str, str]) -> str:
    return (
        '<p class="legend">'
        + " ".join(f'<span><i style="background:{c}"></i>{_esc(name)}</span>' for name, c in colours.items())
        + "</p>"
    )


def render_html(results: Sequence[Result], as_of: datetime, origin: str, tenant: str | None = None) -> str:
    """One page, no script and nothing fetched (a CSP that forbids it): charts as inline SVG, then every table."""
    by_name = {r.name: r for r in results}
    charts: list[str] = []

    if hourly := by_name.get("volume_by_hour"):
        rows = hourly.as_dicts()
        hours = sorted({str(r["hour"]) for r in rows})
        series: dict[str, dict[str, int]] = {}
        for r in rows:
            series.setdefault(str(r["source"]), {})[str(r["hour"])] = int(r["images"])
        colours = {s: SOURCE_COLOURS.get(s, OTHER_COLOUR) for s in series}
        charts.append(
            f'<section id="chart-volume"><h2>Volume over time (images per UTC hour)</h2>'
            f"{_stacked_columns('volume over time', hours, series)}{_legend(colours)}</section>"
        )
    if rejections := by_name.get("rejections"):
        bars = [
            (f"{r['reject_reason']} ({r['source']})", float(r["images"]), REJECTION_COLOUR)
            for r in rejections.as_dicts()
        ]
        charts.append(
            f'<section id="chart-rejections"><h2>Rejection reasons</h2>{_bars("rejections", bars, "images")}</section>'
        )
    if latency := by_name.get("latency"):
        bars = [
            (f"{r['source']} {column.split('_')[1]}", float(r[column]), colour)
            for r in latency.as_dicts()
            for column, colour in PERCENTILE_COLOURS.items()
            if r[column] is not None
        ]
        charts.append(
            f'<section id="chart-latency"><h2>Processing latency percentiles (ms, upload to PROCESSED)</h2>'
            f"{_bars('latency percentiles', bars, 'ms')}"
            f"{_legend({k.split('_')[1]: v for k, v in PERCENTILE_COLOURS.items()})}</section>"
        )
    if formats := by_name.get("formats"):
        bars = [(str(r["format"]), float(r["images"]), FORMAT_COLOUR) for r in formats.as_dicts()]
        charts.append(f'<section id="chart-formats"><h2>Formats</h2>{_bars("formats", bars, "images")}</section>')

    scope = f"tenant {_esc(tenant)} only" if tenant else "every tenant"
    tables = []
    for result in results:
        head = "".join(f"<th>{_esc(c)}</th>" for c in result.columns)
        body = (
            "".join("<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in row) + "</tr>" for row in result.rows)
            or f'<tr><td colspan="{len(result.columns)}">no rows</td></tr>'
        )
        tables.append(
            f'<section class="table" id="table-{_esc(result.name)}"><h3>{_esc(result.name)}</h3>'
            f"<p>{_esc(result.title)}</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>imgpipe — ingestion and processing report</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }}
.charts {{ display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px 32px; }}
.chart text {{ font: 12px system-ui, sans-serif; fill: #222; }}
.legend span {{ margin-right: 12px; }}
.legend i {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
table {{ border-collapse: collapse; margin-bottom: 8px; }} th, td {{ border: 1px solid #ccc; padding: 2px 8px; }}
td {{ text-align: right; }} h2 {{ font-size: 16px; }} h3 {{ margin-bottom: 0; }}
</style></head>
<body>
<h1>imgpipe — ingestion and processing</h1>
<p class="meta">As of {as_of:%Y-%m-%d %H:%M}Z, from {_esc(origin)}, {scope}. The same SQL as the Athena named queries
(terraform/modules/analytics/queries), run on DuckDB; purged and expired images are not counted.</p>
<div class="charts">{"".join(charts)}</div>
<h2>Tables</h2>
{"".join(tables)}
</body></html>
"""


# ------------------------------------------------------------------------------------------------- CLI


def deployed_exports(cfg: Any, analytics: dict[str, Any], dest: Path) -> tuple[int, str]:
    """The deployed analytics bucket's exports (module output `analytics`) mirrored into `dest`, once a running
    worker has delivered the stream's latest changes: (files, where they came from)."""
    from scripts.local import stack
    from scripts.local.time_travel import settle_worker

    bucket, prefix = str(analytics["bucket_name"]), str(analytics["export_prefix"])
    settle_worker(cfg)
    count = fetch_exports(stack.aws_client(cfg, "s3"), bucket, prefix, dest)
    return count, f"s3://{bucket}/{prefix} ({count} export files)"


def _local_exports(dest: Path) -> tuple[int, str]:
    from scripts.deploy import tf
    from scripts.local import stack

    cfg = stack.StackConfig.from_env()
    try:
        outputs = tf.outputs("local", tf.run_env("local", cfg))
    except tf.TfError as err:
        raise ReportError(str(err)) from err
    analytics = outputs.get("analytics") if outputs else None
    if not analytics:
        raise ReportError("nothing deployed in ENV=local with analytics: run `make up` (or `make demo`) first")
    return deployed_exports(cfg, analytics, dest)


@command(ReportError, ValueError)
def main(argv: list[str] | None = None) -> int:
    from scripts.local.time_travel import parse_as_of

    parser = argparse.ArgumentParser(prog="python -m scripts.dev.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--exports", type=Path, help="read export files from this folder instead of ENV=local")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist" / "report", help="where index.html goes")
    parser.add_argument("--as-of", default=None, help="the report's clock: +8d, +6d23h or ISO 8601 (default now)")
    parser.add_argument("--tenant", default=None, help="only this tenant's images (default: every tenant)")
    args = parser.parse_args(argv)
    as_of = parse_as_of(args.as_of) if args.as_of else datetime.now(UTC)
    check_tenant(args.tenant)  # before fetching anything
    if args.exports:
        exports, origin = args.exports, str(args.exports)
    else:
        exports = args.out / "exports"
        print("==> fetching the exports from ENV=local's analytics bucket", flush=True)
        _, origin = _local_exports(exports)
    results = run_reports(connect(exports), as_of, tenant=args.tenant)
    scope = f"tenant {args.tenant} only" if args.tenant else "every tenant"
    print(f"Reports as of {as_of:%Y-%m-%d %H:%M}Z over {origin}, {scope} (DuckDB, the Athena named queries' SQL)\n")
    if not exports.is_dir() or not any(exports.rglob("*.json.gz")):
        print(
            "(nothing exported yet: `make demo` sends images through the pipeline, or upload some to the local API)\n"
        )
    print("\n\n".join(format_table(r) for r in results))
    args.out.mkdir(parents=True, exist_ok=True)
    page = args.out / "index.html"
    page.write_text(render_html(results, as_of, origin, args.tenant))
    print(f"\nHTML report with charts: {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
