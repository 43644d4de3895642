"""A Flask endpoint that does nothing, served like the gateway: the benchmark's baseline."""
from flask import Flask, request

app = Flask(__name__)


@app.post("/api/v1/complaints")
def accept():
    request.get_json()
    return {"tracking_number": "0000-0000-00000", "status": "submitted"}, 201
