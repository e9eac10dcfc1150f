"""A fictional board and referrals (SCR, LCSPR, SAR), shipped inside the package: ``reviews
up``, ``reviews simulate`` and the tests load them from here, wherever the package is installed."""

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent
BOARD = EXAMPLES / "board.yaml"
REFERRALS = EXAMPLES / "referrals"


def referral_file(name: str) -> Path:
    """The example referral called ``name`` (e.g. ``scr-child-t``)."""
    return REFERRALS / f"{name}.yaml"
