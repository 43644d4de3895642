"""The public-prosecution channel (رئاسة النيابة العامة): a confidential service with its own
data, queues and staff.  Filing and following prosecution complaints come with issue 5; for
now it only answers on the bus, so the platform runs and is deployed whole.
"""
from nameko.rpc import rpc

from services.common.liveness import Liveness


class ProsecutionService:
    name = "prosecution"

    liveness = Liveness()  # LIVENESS_FILE: Kubernetes' probes read it

    @rpc
    def health(self):
        return {"service": self.name, "status": "ok"}
