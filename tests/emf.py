"""Reads the CloudWatch embedded-metric-format documents Powertools prints on stdout."""

from __future__ import annotations

import json


def emitted_metrics(out: str) -> list[tuple[str, dict[str, str], list[float]]]:
    """(name, dimensions, value) of every metric in the EMF documents printed on stdout."""
    found = []
    for line in out.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "imgpipe"
            dimensions = {d: document[d] for group in directive["Dimensions"] for d in group}
            found += [(m["Name"], dimensions, document[m["Name"]]) for m in directive["Metrics"]]
    return found
