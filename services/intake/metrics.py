"""What intake counts, for operators (served by services.common.metrics.MetricsServer).  Each is
counted once its transaction committed."""
from prometheus_client import Counter

COMPLAINTS_FILED = Counter(
    "chikaya_complaints_filed_total", "Complaints filed (a replayed client_reference is not counted again).",
    ["type"])
COMPLAINTS_ANSWERED = Counter(
    "chikaya_complaints_answered_total", "Answers given by administrations.", ["administration"])
COMPLAINTS_OVERDUE = Counter(
    "chikaya_complaints_overdue_total", "Complaints whose answer deadline passed (each once per deadline).",
    ["administration"])
