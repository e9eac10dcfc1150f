"""``python -m portal``: the agency portal as a production service (behind a TLS proxy).

Refuses to start, with one line naming the setting, while ``REVIEWS_PORTAL_SECRET`` is the published
default: what it signs could be forged by anyone. (``reviews up`` draws its own secret; the
in-process servers of the simulation and the tests never face the network.)
"""

from __future__ import annotations

from core.config import get_settings
from core.secrets import check_portal_secret
from services.background_server import serve_in_production


def main() -> None:
    secret = get_settings().portal_secret.get_secret_value()
    serve_in_production("portal", 8800, check_portal_secret, secret)


if __name__ == "__main__":
    main()
