"""``python -m portal``: the agency portal as a production service (behind a TLS proxy).

Refuses to start, with one line naming the setting, while ``REVIEWS_PORTAL_SECRET`` is the
published default: links signed with it could be forged by anyone. (``reviews up`` draws its
own secret; the in-process servers of the simulation and the tests never face the network.)
"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from core.config import get_settings
from core.secrets import InsecureSetting, check_portal_secret


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m portal", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="listen here (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8800, help="listen here (default 8800)")
    args = parser.parse_args(argv)
    try:
        check_portal_secret(get_settings().portal_secret.get_secret_value())
    except InsecureSetting as exc:
        print(f"portal: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # The proxy in front terminates TLS and sets X-Forwarded-*; trust only it (loopback).
    uvicorn.run(
        "portal.app:app",
        host=args.host,
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="info",
    )


if __name__ == "__main__":
    main()
