"""The cost estimate: measured compute priced from AWS Price List data, the offer-file parser, the fetch path
with a stand-in for AWS's offer files, clear errors, and the model's constants still matching the modules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from scripts.dev import cost
from tests.conftest import REPO_ROOT

BENCH = {
    "throughput": {
        "measured_at": "2026-12-01T10:00:00+00:00",
        "cores": 2,
        "images_per_minute": 150.0,
        "engine_ms": 166,
        "worker_cores": 2,
        "image_bytes": 2_000_000,
    },
    "upload": {"measured_at": "2026-12-01T10:00:00+00:00", "cores": 2, "api_p50_ms": 80.0, "api_p99_ms": 95.0},
}


@pytest.fixture
def bench_file(tmp_path: Path) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(BENCH))
    return path


def offer(*products: tuple[str, str, list[tuple[str, str]]], region: str = "eu-west-1") -> dict[str, Any]:
    """An offer file in AWS's shape: products by sku, terms.OnDemand[sku][term].priceDimensions."""
    document: dict[str, Any] = {"products": {}, "terms": {"OnDemand": {}}}
    for sku, usagetype, tiers in products:
        document["products"][sku] = {"sku": sku, "attributes": {"usagetype": usagetype, "regionCode": region}}
        dimensions = {
            f"{sku}.T.{n}": {"beginRange": begin, "pricePerUnit": {"USD": usd}} for n, (begin, usd) in enumerate(tiers)
        }
        document["terms"]["OnDemand"][sku] = {f"{sku}.T": {"priceDimensions": dimensions}}
    return document


def test_processor_compute_is_the_measured_time_at_the_configured_memory(bench_file: Path) -> None:
    measured = cost.measured(bench_file)
    assert measured.processor_ms == pytest.approx(2 * 60_000 / 150.0)  # 800 ms per image per core
    prices, _ = cost.load_prices("us-east-1")
    rows = {line.component: (line, usd) for line, usd in cost.estimate(1_000_000, measured, prices)}
    line, usd = rows["Lambda image_processor compute"]
    assert line.quantity == pytest.approx(0.8 * 1769 / 1024)
    assert usd == pytest.approx(0.8 * 1769 / 1024 * 1_000_000 * prices["lambda_gb_second_arm"])
    assert usd == pytest.approx(18.43, abs=0.01)  # at the snapshot's 0.0000133334 USD per arm64 GB-second
    upload, _ = rows["Lambda upload_api compute"]
    assert upload.quantity == pytest.approx(2 * 0.080 * 1024 / 1024)


def test_total_scales_with_volume_and_is_the_sum_of_its_rows(bench_file: Path) -> None:
    measured = cost.measured(bench_file)
    prices, source = cost.load_prices("us-east-1")
    million = cost.estimate(1_000_000, measured, prices)
    thousand = cost.estimate(1_000, measured, prices)
    assert sum(c for _, c in million) == pytest.approx(1000 * sum(c for _, c in thousand))
    text = cost.render(1_000_000, "us-east-1", measured, million, source)
    total = float(re.search(r"^  total\s+([\d.]+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert total == pytest.approx(sum(c for _, c in million), abs=0.01)
    assert "scripts/dev/prices/us-east-1.json" in text and "make bench on 2026-12-01" in text
    assert all(line.price_key in prices for line, _ in million)


def test_offer_parser_takes_the_first_paid_tier_of_the_region_prefixed_usagetype() -> None:
    document = offer(
        ("A", "EUW1-Requests-Tier1", [("1000000", "0.0000040"), ("0", "0.0000050")]),
        ("B", "EUW1-Requests-Tier2", [("0", "0.0000004")]),
        ("C", "EUW1-SomethingRequests-Tier1X", [("0", "9")]),
    )
    assert cost.price_from_offer(document, "Requests-Tier1", "eu-west-1") == 0.000005
    assert cost.price_from_offer(document, "Requests-Tier2", "eu-west-1") == 0.0000004
    assert cost.price_from_offer(document, "Requests-Tier1", "us-east-1") is None  # another region's product
    assert cost.price_from_offer(document, "Requests-Tier3", "eu-west-1") is None


def test_fetch_writes_a_trimmed_snapshot_that_load_reads(tmp_path: Path) -> None:
    fetched: list[str] = []

    def opener(url: str) -> bytes:
        fetched.append(url)
        service = url.split("/aws/")[1].split("/")[0]
        wanted = [
            (f"{s.key}", f"EUW1-{s.usagetype}", [("0", "0.001")]) for s in cost.PRICE_SPECS if s.service == service
        ]
        return json.dumps(offer(*wanted, ("NOISE", "EUW1-Unrelated", [("0", "1")]))).encode()

    path = cost.fetch_prices("eu-west-1", tmp_path, opener)
    assert fetched[0].startswith("https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/")
    assert all(url.endswith("/current/eu-west-1/index.json") for url in fetched)
    assert "NOISE" not in path.read_text()
    prices, _ = cost.load_prices("eu-west-1", tmp_path)
    assert set(prices) == {spec.key for spec in cost.PRICE_SPECS} and set(prices.values()) == {0.001}


def test_missing_inputs_say_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(cost.CostError, match=r"run `make up` then `make bench` first"):
        cost.measured(tmp_path / "absent.json")
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"upload": BENCH["upload"]}))
    with pytest.raises(cost.CostError, match=r"run `make bench throughput`"):
        cost.measured(partial)
    with pytest.raises(cost.CostError, match=r"no price snapshot for ap-south-2 .* --fetch-prices"):
        cost.load_prices("ap-south-2")
    assert cost.main(["--bench", str(tmp_path / "absent.json")]) == 2
    assert "make bench" in capsys.readouterr().err


def default_of(module: str, variable: str) -> str:
    text = (REPO_ROOT / "terraform" / "modules" / module / "variables.tf").read_text()
    block = text.split(f'variable "{variable}"', 1)[1].split("\n}\n", 1)[0]
    return re.search(r"default\s*=\s*(\S+)", block).group(1)  # type: ignore[union-attr]


def test_the_model_uses_the_modules_configuration() -> None:
    assert int(default_of("ingest_api", "upload_api_memory_mb")) == cost.MEMORY_MB["upload_api"]
    assert int(default_of("processing", "memory_mb")) == cost.MEMORY_MB["image_processor"]
    assert int(default_of("ingest_api", "api_authorizer_memory_mb")) == cost.MEMORY_MB["api_authorizer"]
    # The authorizer's decisions are never cached, so the model counts one call per API request.
    # ingest_api's main.tf is split by concern (api.tf, auth.tf, ...): read the module, whatever the file.
    ingest_api = "".join(
        p.read_text() for p in sorted((REPO_ROOT / "terraform" / "modules" / "ingest_api").glob("*.tf"))
    )
    assert re.search(r"ttl_seconds\s*=\s*0\n", ingest_api) and cost.AUTHORIZER_CALLS_PER_REQUEST == 1
    assert int(default_of("analytics", "batch_size")) == cost.EXPORT_BATCH_SIZE
    assert re.search(
        r"memory_size\s+= 512\n", (REPO_ROOT / "terraform" / "modules" / "analytics" / "main.tf").read_text()
    )
    from imgpipe.renditions import DEFAULT_RENDITIONS

    assert len(DEFAULT_RENDITIONS) == cost.RENDITIONS


def test_lambda_and_fargate_spot_are_compared_per_image_with_the_break_even(bench_file: Path) -> None:
    measured = cost.measured(bench_file)  # 800 ms per image per core
    prices, source = cost.load_prices("us-east-1")
    assert not set(cost.FARGATE_KEYS) & set(prices)  # the committed snapshot holds no Fargate prices
    unpriced = cost.processing_choice(measured, prices)
    assert unpriced.spot_usd is None and "run with --fetch-prices" in cost.render_choice(1_000_000, unpriced, source)

    fargate = {
        "fargate_arm_vcpu_hour": 0.04,
        "fargate_arm_gb_hour": 0.004,
        "fargate_spot_arm_vcpu_hour": 0.012,
        "fargate_spot_arm_gb_hour": 0.0012,
    }
    choice = cost.processing_choice(measured, {**prices, **fargate})
    lambda_usd = 0.8 * 1769 / 1024 * prices["lambda_gb_second_arm"] + prices["lambda_request_arm"]
    assert choice.lambda_usd == pytest.approx(lambda_usd)
    assert choice.fargate_usd == pytest.approx(0.8 / 3600 * (1 * 0.04 + 2 * 0.004))
    assert choice.spot_usd == pytest.approx(0.8 / 3600 * (1 * 0.012 + 2 * 0.0012))
    assert choice.spot_usd is not None and choice.spot_break_even is not None
    assert choice.spot_break_even == pytest.approx(choice.spot_usd / lambda_usd)
    text = cost.render_choice(1_000_000, choice, source)
    assert f"busy more than {choice.spot_break_even:.0%}" in text
    assert f"{choice.spot_usd * 1_000_000:.2f} USD" in text

    dear = cost.processing_choice(measured, {**prices, **fargate, "fargate_spot_arm_vcpu_hour": 10.0})
    assert dear.spot_break_even is not None and dear.spot_break_even > 1
    assert "break-even: none" in cost.render_choice(1_000_000, dear, source)


def test_an_on_demand_usagetype_never_takes_its_spot_price() -> None:
    document = offer(
        ("SPOT", "USE1-SpotUsage-Fargate-ARM-GB-Hours", [("0", "0.001")]),
        ("OD", "USE1-Fargate-ARM-GB-Hours", [("0", "0.004")]),
        region="us-east-1",
    )
    assert cost.price_from_offer(document, "Fargate-ARM-GB-Hours", "us-east-1") == 0.004
    assert cost.price_from_offer(document, "SpotUsage-Fargate-ARM-GB-Hours", "us-east-1") == 0.001
    kms = offer(("K", "us-east-1-KMS-Requests", [("0", "0.03")]), region="us-east-1")
    assert cost.price_from_offer(kms, "KMS-Requests", "us-east-1") == 0.03  # a prefix with dashes of its own


def test_the_fargate_task_is_the_workers_module_s() -> None:
    assert int(default_of("workers", "cpu")) == cost.FARGATE_TASK_VCPU * 1024
    assert int(default_of("workers", "memory")) == cost.FARGATE_TASK_GB * 1024
