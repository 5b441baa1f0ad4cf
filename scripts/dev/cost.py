"""What a million images cost to ingest, process and keep for the retention window, per AWS service.

    python -m scripts.dev.cost [--images 1000000] [--region us-east-1] [--bench dist/bench/results.json]
                           [--fetch-prices]

Compute comes from what `make bench` measured (dist/bench/results.json): the processor's milliseconds per image
end to end through the local stack (per worker core), the upload's p50, at the memory the modules configure.
Requests per image come from the design (each row says where its number comes from). Prices come from AWS's
Price List for the region: a committed snapshot (scripts/dev/prices/<region>.json, in the offer files' own
product/terms shape) or, with --fetch-prices, the public offer files themselves (no credentials needed).
Not included: fixed monthly costs (WAF web ACL and rules, KMS keys, dashboards, alarms, GuardDuty's base,
the hourly retention audit) and GuardDuty Malware Protection's per-GB scanning — see docs/operations.md.
Then processing alone on Lambda against the container workers on Fargate and Fargate Spot (#22), and how busy a
Spot task must be to cost less: priced when the snapshot holds AmazonECS's Fargate prices (--fetch-prices).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.cli import REPO_ROOT, CliError, command

PRICES_DIR = Path(__file__).resolve().parent / "prices"
OFFER_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{service}/current/{region}/index.json"

# The modules' defaults (tests/unit/test_cost.py checks they still are).
MEMORY_MB = {"upload_api": 1024, "image_processor": 1769, "metadata_export": 512, "api_authorizer": 256}
RETENTION_DAYS = 7
AUTHORIZER_CALLS_PER_REQUEST = 1  # no decision cache: either credential header may be used (modules/ingest_api)
AUTHORIZER_MS = 20  # a warm registry lookup or a token check against cached keys (assumed, not measured)
EXPORT_BATCH_SIZE = 500
RENDITIONS = 4  # JPEG 1280/640/160 + WebP 1280 (imgpipe.renditions.DEFAULT_RENDITIONS)


class CostError(Exception):
    """Missing or unusable inputs: the CLI prints it and exits 2."""


@dataclass(frozen=True)
class Measured:
    processor_ms: float  # per image, per core, upload → PROCESSED through the local stack
    upload_ms: float  # PUT /v1/images p50 through the local gateway (authorizer, validation, S3, DynamoDB)
    image_mb: float
    basis: str


def measured(bench_file: Path) -> Measured:
    if not bench_file.is_file():
        raise CostError(f"no benchmark results at {bench_file}: run `make up` then `make bench` first")
    results = json.loads(bench_file.read_text())
    throughput, upload = results.get("throughput"), results.get("upload")
    if not throughput or not upload:
        missing = [name for name in ("throughput", "upload") if not results.get(name)]
        raise CostError(f"{bench_file} has no {' or '.join(missing)} results: run `make bench {' '.join(missing)}`")
    per_image_ms = throughput["worker_cores"] * 60_000 / throughput["images_per_minute"]
    return Measured(
        processor_ms=per_image_ms,
        upload_ms=float(upload["api_p50_ms"]),
        image_mb=throughput["image_bytes"] / 1e6,
        basis=f"make bench on {throughput['measured_at'][:10]}, {throughput['cores']} cores",
    )


# ------------------------------------------------------------------------------------------------ prices


@dataclass(frozen=True)
class PriceSpec:
    key: str
    service: str  # offer file service code
    usagetype: str  # matched as the end of the product's usagetype (other regions prefix it, e.g. EUW1-)
    unit: str
    optional: bool = False  # only the Fargate comparison needs it: missing, that comparison says so


PRICE_SPECS = [
    PriceSpec("lambda_gb_second_arm", "AWSLambda", "Lambda-GB-Second-ARM", "GB-second"),
    PriceSpec("lambda_request_arm", "AWSLambda", "Request-ARM", "request"),
    PriceSpec("apigateway_rest_request", "AmazonApiGateway", "ApiGatewayRequest", "request"),
    PriceSpec("waf_request", "awswaf", "WAFV2-Request", "request"),
    PriceSpec("s3_standard_gb_month", "AmazonS3", "TimedStorage-ByteHrs", "GB-month"),
    PriceSpec("s3_put_request", "AmazonS3", "Requests-Tier1", "request"),
    PriceSpec("s3_get_request", "AmazonS3", "Requests-Tier2", "request"),
    PriceSpec("dynamodb_write_request_unit", "AmazonDynamoDB", "WriteRequestUnits", "request unit"),
    PriceSpec("dynamodb_read_request_unit", "AmazonDynamoDB", "ReadRequestUnits", "request unit"),
    PriceSpec("sqs_request", "AWSQueueService", "Requests-RBP", "request"),
    PriceSpec("kms_request", "awskms", "KMS-Requests", "request"),
    PriceSpec("logs_ingested_gb", "AmazonCloudWatch", "DataProcessing-Bytes", "GB"),
    PriceSpec("xray_trace", "AWSXRay", "XRay-TracesStored", "trace"),
    PriceSpec("cloudtrail_data_event", "AWSCloudTrail", "DataEventsRecorded", "event"),
    # The container workers' (modules/workers: arm64, Fargate and Fargate Spot capacity providers).
    PriceSpec("fargate_arm_vcpu_hour", "AmazonECS", "Fargate-ARM-vCPU-Hours:perCPU", "vCPU-hour", optional=True),
    PriceSpec("fargate_arm_gb_hour", "AmazonECS", "Fargate-ARM-GB-Hours", "GB-hour", optional=True),
    PriceSpec(
        "fargate_spot_arm_vcpu_hour", "AmazonECS", "SpotUsage-Fargate-ARM-vCPU-Hours:perCPU", "vCPU-hour", optional=True
    ),
    PriceSpec("fargate_spot_arm_gb_hour", "AmazonECS", "SpotUsage-Fargate-ARM-GB-Hours", "GB-hour", optional=True),
]
FARGATE_KEYS = [spec.key for spec in PRICE_SPECS if spec.service == "AmazonECS"]


def _is_usagetype(kind: str, usagetype: str) -> bool:
    if kind == usagetype:
        return True
    # A region prefix (EUW1-, us-east-1-); not SpotUsage-, which names the Spot price of the same usage.
    return kind.endswith("-" + usagetype) and not kind[: -len(usagetype) - 1].endswith("SpotUsage")


def price_from_offer(offer: dict[str, Any], usagetype: str, region: str | None = None) -> float | None:
    """USD per unit of the first (lowest-volume) on-demand tier of the product whose usagetype ends with
    `usagetype`, from an AWS Price List offer file (products + terms.OnDemand)."""
    on_demand = offer.get("terms", {}).get("OnDemand", {})
    for sku, product in offer.get("products", {}).items():
        attributes = product.get("attributes", {})
        if not _is_usagetype(attributes.get("usagetype", ""), usagetype):
            continue
        if region and attributes.get("regionCode", region) != region:
            continue
        dimensions = [d for term in on_demand.get(sku, {}).values() for d in term.get("priceDimensions", {}).values()]
        dimensions.sort(key=lambda d: float(d.get("beginRange", "0")))
        for dimension in dimensions:
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is not None and float(usd) > 0:
                return float(usd)
    return None


def load_prices(region: str, directory: Path = PRICES_DIR) -> tuple[dict[str, float], str]:
    path = directory / f"{region}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.json")))
        raise CostError(f"no price snapshot for {region} (have: {known}): run with --fetch-prices")
    snapshot = json.loads(path.read_text())
    prices = {}
    for spec in PRICE_SPECS:
        offer = snapshot["offers"].get(spec.service, {})
        price = price_from_offer(offer, spec.usagetype, region)
        if price is None and spec.optional:
            continue
        if price is None:
            raise CostError(f"{path}: no {spec.usagetype} price in its {spec.service} offer")
        prices[spec.key] = price
    shown = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path
    return prices, f"{shown} ({snapshot['as_of']})"


def fetch_prices(region: str, directory: Path = PRICES_DIR, opener: Callable[[str], bytes] | None = None) -> Path:
    """Writes a snapshot trimmed to the products PRICE_SPECS name, from AWS's public offer files."""
    opener = opener or (lambda url: urllib.request.urlopen(url, timeout=120).read())  # noqa: S310 (fixed https URL)
    offers: dict[str, dict[str, Any]] = {}
    for service in sorted({spec.service for spec in PRICE_SPECS}):
        print(f"cost: fetching the {service} offer file for {region} ...", file=sys.stderr, flush=True)
        offer = json.loads(opener(OFFER_URL.format(service=service, region=region)))
        wanted = [spec.usagetype for spec in PRICE_SPECS if spec.service == service]
        products = {
            sku: product
            for sku, product in offer.get("products", {}).items()
            if any(_is_usagetype(product.get("attributes", {}).get("usagetype", ""), u) for u in wanted)
        }
        on_demand = offer.get("terms", {}).get("OnDemand", {})
        offers[service] = {
            "products": products,
            "terms": {"OnDemand": {sku: on_demand[sku] for sku in products if sku in on_demand}},
        }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{region}.json"
    as_of = "fetched from the AWS Price List offer files"
    path.write_text(json.dumps({"region": region, "as_of": as_of, "offers": offers}, indent=1, sort_keys=True) + "\n")
    return path


# ------------------------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class Line:
    component: str
    quantity: float  # per image, in the price's unit
    unit: str
    price_key: str
    basis: str


def usage(m: Measured) -> list[Line]:
    """Per image through the API (PUT, processing, one GET of its status), as the modules are configured."""
    gb = 1 / 1024
    item_kb = 2  # an item with its renditions' records, as stored
    writes = 3  # RECEIVED put, PROCESSING and PROCESSED updates
    indexes = 2  # by_tenant_status and by_day: each write is written to both
    keep_months = RETENTION_DAYS / 30.4
    return [
        Line("API Gateway REST requests", 2, "request", "apigateway_rest_request", "PUT + GET per image"),
        Line("WAF requests", 2, "request", "waf_request", "every API request"),
        Line(
            "Lambda requests",
            2 + 1 + writes / EXPORT_BATCH_SIZE + 2 * AUTHORIZER_CALLS_PER_REQUEST,
            "request",
            "lambda_request_arm",
            f"upload_api x2, processor, export (batches of {EXPORT_BATCH_SIZE}), authorizer x2 (every request)",
        ),
        Line(
            "Lambda api_authorizer compute",
            2 * AUTHORIZER_CALLS_PER_REQUEST * AUTHORIZER_MS / 1000 * MEMORY_MB["api_authorizer"] * gb,
            "GB-second",
            "lambda_gb_second_arm",
            f"2 x {AUTHORIZER_MS} ms at {MEMORY_MB['api_authorizer']} MB (assumed)",
        ),
        Line(
            "Lambda upload_api compute",
            2 * m.upload_ms / 1000 * MEMORY_MB["upload_api"] * gb,
            "GB-second",
            "lambda_gb_second_arm",
            f"2 x {m.upload_ms:.0f} ms (measured PUT p50; GET counted alike) at {MEMORY_MB['upload_api']} MB",
        ),
        Line(
            "Lambda image_processor compute",
            m.processor_ms / 1000 * MEMORY_MB["image_processor"] * gb,
            "GB-second",
            "lambda_gb_second_arm",
            f"{m.processor_ms:.0f} ms per image per core (measured end to end) at {MEMORY_MB['image_processor']} MB",
        ),
        Line(
            "Lambda metadata_export compute",
            writes / EXPORT_BATCH_SIZE * 1.0 * MEMORY_MB["metadata_export"] * gb,
            "GB-second",
            "lambda_gb_second_arm",
            f"≤ 1 s per batch of {EXPORT_BATCH_SIZE} changes at {MEMORY_MB['metadata_export']} MB (assumed)",
        ),
        Line(
            "S3 PUT-class requests",
            1 + RENDITIONS + writes / EXPORT_BATCH_SIZE,
            "request",
            "s3_put_request",
            f"raw + {RENDITIONS} renditions + export files",
        ),
        Line("S3 GET-class requests", 2, "request", "s3_get_request", "processor reads the raw object and its tags"),
        Line(
            "S3 storage for the retention window",
            m.image_mb * 1.25 / 1000 * keep_months,
            "GB-month",
            "s3_standard_gb_month",
            f"{m.image_mb:.1f} MB raw + renditions (≈ 25 % more) for {RETENTION_DAYS} days",
        ),
        Line(
            "DynamoDB writes",
            writes * item_kb * (1 + indexes),
            "request unit",
            "dynamodb_write_request_unit",
            f"{writes} writes x {item_kb} KB x (table + {indexes} indexes)",
        ),
        Line(
            "DynamoDB quota counters",
            2 + 1,
            "request unit",
            "dynamodb_write_request_unit",
            "requests per minute (PUT and GET) + the day's upload count: 3 small conditional updates",
        ),
        Line(
            "DynamoDB reads",
            1,
            "request unit",
            "dynamodb_read_request_unit",
            "processor's get + the GET (eventually consistent)",
        ),
        Line("SQS requests", 3, "request", "sqs_request", "S3 event send, receive, delete"),
        Line("KMS requests", 2, "request", "kms_request", "bucket keys and cached data keys keep it low (assumed)"),
        Line("CloudWatch Logs ingestion", 6 / 1e6, "GB", "logs_ingested_gb", "≈ 6 KB of structured lines per image"),
        Line("X-Ray traces", 0.05 * 3, "trace", "xray_trace", "default sampling ≈ 5 % of 3 traced requests"),
        Line(
            "CloudTrail data events",
            2 + RENDITIONS + 2 + 3,
            "event",
            "cloudtrail_data_event",
            "S3 object events on the image buckets + function invocations",
        ),
    ]


def estimate(images: int, m: Measured, prices: dict[str, float]) -> list[tuple[Line, float]]:
    return [(line, line.quantity * images * prices[line.price_key]) for line in usage(m)]


def render(images: int, region: str, m: Measured, rows: list[tuple[Line, float]], price_source: str) -> str:
    total = sum(cost for _, cost in rows)
    width = max(len(line.component) for line, _ in rows)
    out = [
        f"Cost of {images:,} images in {region} (on-demand list prices, USD; ingest via the API, process, keep "
        f"{RETENTION_DAYS} days)",
        f"  compute: {m.basis}; prices: {price_source}",
        "",
        f"  {'component':<{width}}  {'per image':>12}  {'unit':<12}  {'USD':>10}  {'share':>6}  basis",
    ]
    for line, cost in sorted(rows, key=lambda row: -row[1]):
        out.append(
            f"  {line.component:<{width}}  {line.quantity:>12.6g}  {line.unit:<12}  {cost:>10.2f}  "
            f"{cost / total:>6.1%}  {line.basis}"
        )
    out += [f"  {'total':<{width}}  {'':>12}  {'':<12}  {total:>10.2f}", ""]
    out.append(
        f"  = {total / images * 1000:.4f} USD per 1,000 images; not included: fixed monthly costs, "
        "Malware Protection scanning, free tiers"
    )
    return "\n".join(out) + "\n"


# modules/workers' task (cpu 1024, memory 2048; tests/unit/test_cost.py checks): one image at a time per task.
FARGATE_TASK_VCPU = 1.0
FARGATE_TASK_GB = 2.0


@dataclass(frozen=True)
class ProcessingChoice:
    lambda_usd: float  # per image: the processor's compute and its share of a request
    fargate_usd: float | None  # per image on a task kept busy, on-demand
    spot_usd: float | None  # the same on Fargate Spot

    @property
    def spot_break_even(self) -> float | None:
        """How busy (share of its running time) a Spot task must be to cost less per image than Lambda."""
        return None if self.spot_usd is None else self.spot_usd / self.lambda_usd


def processing_choice(m: Measured, prices: dict[str, float]) -> ProcessingChoice:
    """Processing one image on Lambda (the measured time at the function's memory) against a Fargate task doing
    the same work in the same time (one vCPU, like the function at 1,769 MB) for the time it is busy."""
    lambda_usd = m.processor_ms / 1000 * MEMORY_MB["image_processor"] / 1024 * prices["lambda_gb_second_arm"]
    lambda_usd += prices["lambda_request_arm"]
    busy_hours = m.processor_ms / 3_600_000

    def task(vcpu_key: str, gb_key: str) -> float | None:
        if vcpu_key not in prices or gb_key not in prices:
            return None
        return busy_hours * (FARGATE_TASK_VCPU * prices[vcpu_key] + FARGATE_TASK_GB * prices[gb_key])

    return ProcessingChoice(
        lambda_usd,
        task("fargate_arm_vcpu_hour", "fargate_arm_gb_hour"),
        task("fargate_spot_arm_vcpu_hour", "fargate_spot_arm_gb_hour"),
    )


def render_choice(images: int, choice: ProcessingChoice, price_source: str) -> str:
    out = [f"Processing {images:,} images: Lambda or the container workers (arm64; processing compute only)"]
    rows = [("Lambda image_processor", choice.lambda_usd)]
    if choice.fargate_usd is None or choice.spot_usd is None or choice.spot_break_even is None:
        out += [f"  {'Lambda image_processor':<40}{choice.lambda_usd * images:>10.2f} USD"]
        out.append(f"  Fargate, Fargate Spot: no AmazonECS Fargate prices in {price_source}: run with --fetch-prices")
        return "\n".join(out) + "\n"
    rows += [("Fargate task, busy all its running time", choice.fargate_usd)]
    rows += [("Fargate Spot task, busy all the time", choice.spot_usd)]
    out += [f"  {label:<40}{usd * images:>10.2f} USD" for label, usd in rows]
    if choice.spot_break_even < 1:
        out.append(
            f"  break-even: Fargate Spot costs less than Lambda while its tasks are busy more than "
            f"{choice.spot_break_even:.0%} of the time they run (a steady backlog); below that, and for bursts "
            "between idle hours, Lambda does"
        )
    else:
        out.append("  break-even: none at these prices: even a task busy the whole time costs more than Lambda")
    return "\n".join(out) + "\n"


@command(CostError, OSError, ValueError, KeyError)
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.dev.cost", description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--bench", type=Path, default=REPO_ROOT / "dist" / "bench" / "results.json")
    parser.add_argument("--fetch-prices", action="store_true", help="refresh scripts/dev/prices/<region>.json first")
    args = parser.parse_args(argv)
    if args.images <= 0 or not math.isfinite(args.images):
        raise CliError("--images must be a positive number")
    if args.fetch_prices:
        print(f"cost: prices written to {fetch_prices(args.region)}", file=sys.stderr)
    prices, source = load_prices(args.region)
    m = measured(args.bench)
    print(render(args.images, args.region, m, estimate(args.images, m, prices), source), end="")
    print()
    print(render_choice(args.images, processing_choice(m, prices), source), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
