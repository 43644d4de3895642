"""Errors that cross the bus: nameko rebuilds these on the caller's side (deserialize_to_instance)
so the gateway can map them to HTTP answers in one place.
"""
from nameko.exceptions import deserialize_to_instance


@deserialize_to_instance
class ValidationFailed(Exception):
    """`errors` maps a field name to a list of message codes the gateway translates."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


@deserialize_to_instance
class NotFound(Exception):
    pass


@deserialize_to_instance
class TransitionRefused(Exception):
    """A step the complaint's state does not allow; `code` says why (e.g. "reopen_window_passed")."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code
