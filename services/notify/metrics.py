"""What notify counts, for operators (served by services.common.metrics.MetricsServer)."""
from prometheus_client import Counter, Histogram

NOTIFICATIONS = Counter(
    "chikaya_notifications_total",
    "Messages by channel, provider and outcome: sent, retried (a temporary failure), failed "
    "(refused for good or given up), delivered (confirmed by the provider).",
    ["channel", "provider", "outcome"])
PROVIDER_SECONDS = Histogram(
    "chikaya_notify_provider_seconds", "Time the provider took to take or refuse a message.",
    ["channel", "provider"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
