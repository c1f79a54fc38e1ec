"""What the kiosk service lets into its log.

httpx and httpcore log every request line at INFO: for the center client that is
``/v1/certificates/<number>/...`` and ``/v1/session/orders/<id>/payment``, certificate numbers
and order ids the log must not hold (they live in the cash journal only). Their warnings
(a broken connection) still come through.
"""

from __future__ import annotations

import logging

QUIET = ("httpx", "httpcore")


def quiet_http_clients() -> None:
    """Raise the HTTP client libraries' loggers to WARNING (idempotent)."""
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
