"""``python -m workspace``: the board's workspace as a production service (behind a TLS proxy).

Refuses to start, with one line naming the setting, while ``REVIEWS_WORKSPACE_SECRET`` is the
published default: what it signs could be forged by anyone. (``reviews up`` draws its own
secret; the in-process servers of the simulation and the tests never face the network.)
"""

from __future__ import annotations

from core.config import get_settings
from core.secrets import check_workspace_secret
from services.background_server import serve_in_production


def main() -> None:
    secret = get_settings().workspace_secret.get_secret_value()
    serve_in_production("workspace", 8900, check_workspace_secret, secret)


if __name__ == "__main__":
    main()
