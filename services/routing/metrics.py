"""What routing and the ministries' consumers count, for operators (routing's through
services.common.metrics.MetricsServer, a consumer's on its --metrics-port)."""
from prometheus_client import Counter, Histogram

COMPLAINTS_ROUTED = Counter(
    "chikaya_complaints_routed_total",
    "Complaints sent to an administration's queue, by why (submitted, transferred, reopened); "
    "TRIAGE when the administration is unknown.", ["administration", "reason"])

# the ministry consumer (services.routing.consumer)
COMPLAINTS_DELIVERED = Counter(
    "chikaya_complaints_delivered_total",
    "Complaints the administration's side accepted (inbox or webhook) and announced as delivered.",
    ["administration", "destination"])
DELIVERY_FAILURES = Counter(
    "chikaya_consumer_delivery_failures_total",
    "Deliveries the administration's side (or the broker) did not take; the complaint is tried again.",
    ["administration"])
MALFORMED_MESSAGES = Counter(
    "chikaya_consumer_malformed_messages_total",
    "Messages that break the routed complaint's contract, sent to complaints.dead-letters.", ["queue"])
DELIVERY_SECONDS = Histogram(
    "chikaya_consumer_delivery_seconds", "Time the administration's side took to accept a complaint.",
    ["administration", "destination"], buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
CONSUMER_LAG_SECONDS = Histogram(
    "chikaya_consumer_lag_seconds",
    "From the moment routing staged a complaint for an administration to its delivery there.",
    ["administration"], buckets=(1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600))
