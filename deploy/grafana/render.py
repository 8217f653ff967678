#!/usr/bin/env python3
"""Writes tessera.json, the Grafana dashboard of deploy/grafana (issue #21), from the panel table
below. Every query uses the names of docs/metrics.md (a test in make test checks them); the
`service` variable selects one service or all. Import it in Grafana (Dashboards → Import) with
a Prometheus data source that scrapes deploy/prometheus/prometheus.yml's job."""
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent / "tessera.json"
S = 'service=~"$service"'

# title, unit, [(query, legend)], width
PANELS = [
    ("Requests per second", "reqps",
     [(f"sum by (service) (rate(http_server_requests_total{{{S}}}[$__rate_interval]))", "{{service}}")], 12),
    ("5xx ratio", "percentunit",
     [(f'sum by (service) (rate(http_server_requests_total{{{S},http_response_status_code=~"5.."}}[$__rate_interval]))'
       f" / sum by (service) (rate(http_server_requests_total{{{S}}}[$__rate_interval]))", "{{service}}")], 12),
    ("p99 latency", "s",
     [(f"histogram_quantile(0.99, sum by (service, le) (rate(http_server_request_duration_seconds_bucket{{{S}}}[$__rate_interval])))",
       "{{service}}")], 12),
    ("p99 latency by route", "s",
     [(f"histogram_quantile(0.99, sum by (service, http_route, le) (rate(http_server_request_duration_seconds_bucket{{{S}}}[$__rate_interval])))",
       "{{service}} {{http_route}}")], 12),
    ("Outbox: oldest unpublished event", "s",
     [(f"max by (service) (outbox_oldest_event_age_seconds{{{S}}})", "{{service}}")], 8),
    ("Outbox: publish lag p99", "s",
     [(f"histogram_quantile(0.99, sum by (service, le) (rate(outbox_publish_lag_seconds_bucket{{{S}}}[$__rate_interval])))",
       "{{service}}")], 8),
    ("Broker connected", "none",
     [(f"min by (service) (broker_connected{{{S}}})", "{{service}}")], 8),
    ("Events consumed by outcome", "ops",
     [(f"sum by (service, outcome) (rate(events_consumed_total{{{S}}}[$__rate_interval]))",
       "{{service}} {{outcome}}")], 12),
    ("Database pool", "none",
     [(f"sum by (service, db_client_connection_state) (db_client_connection_count{{{S}}})",
       "{{service}} {{db_client_connection_state}}"),
      (f"sum by (service) (db_client_connection_pending_requests{{{S}}})", "{{service}} waiting")], 12),
    ("Sign-ins by outcome", "ops",
     [(f"sum by (service, outcome) (rate(logins_total{{{S}}}[$__rate_interval]))",
       "{{service}} {{outcome}}")], 8),
    ("Peer tokens", "ops",
     [(f"sum by (scope) (rate(peer_tokens_issued_total{{{S}}}[$__rate_interval]))", "issued {{scope}}"),
      (f"sum by (reason) (rate(peer_token_denials_total{{{S}}}[$__rate_interval]))", "refused {{reason}}")], 8),
    ("Broker tokens and quotation fetches", "ops",
     [(f"sum by (outcome) (rate(broker_tokens_total{{{S}}}[$__rate_interval]))", "broker {{outcome}}"),
      (f"sum by (provider, outcome) (rate(quotation_fetches_total{{{S}}}[$__rate_interval]))",
       "{{provider}} {{outcome}}")], 8),
    ("Resident memory", "bytes",
     [(f"sum by (service) (process_resident_memory_bytes{{{S}}})", "{{service}}")], 12),
    ("CPU", "percentunit",
     [(f"sum by (service) (rate(process_cpu_seconds_total{{{S}}}[$__rate_interval]))", "{{service}}")], 12),
]


def panel(i, x, y, title, unit, targets, width):
    return {
        "id": i + 1, "type": "timeseries", "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": x, "y": y, "w": width, "h": 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"},
                    "tooltip": {"mode": "multi"}},
        "targets": [{"refId": chr(ord("A") + n), "expr": q, "legendFormat": legend,
                     "datasource": {"type": "prometheus", "uid": "${datasource}"}}
                    for n, (q, legend) in enumerate(targets)],
    }


def dashboard():
    panels, x, y = [], 0, 0
    for i, (title, unit, targets, width) in enumerate(PANELS):
        if x + width > 24:
            x, y = 0, y + 8
        panels.append(panel(i, x, y, title, unit, targets, width))
        x += width
    return {
        "uid": "tessera-overview", "title": "Tessera", "tags": ["tessera"],
        "schemaVersion": 39, "version": 1, "editable": True, "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source"},
            {"name": "service", "type": "query", "label": "Service", "includeAll": True, "multi": True,
             "allValue": ".*", "current": {"text": "All", "value": "$__all"},
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": "label_values(http_server_requests_total, service)", "refId": "service"},
             "refresh": 2},
        ]},
        "panels": panels,
    }


if __name__ == "__main__":
    import sys
    text = json.dumps(dashboard(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit("deploy/grafana/tessera.json is out of date: run python3 deploy/grafana/render.py")
    else:
        OUT.write_text(text)
