"""Surnames that are also everyday English words. A name part in this list is matched only
when the text capitalises it ("Mr Green", not "green space"), so a clean report is not blocked
by ordinary prose; any other name part is matched case-blind."""

from __future__ import annotations

EVERYDAY_SURNAMES = frozenset(
    """
    baker bank banks bell berry best bird black bone bush butcher carpenter carter chance
    church clay cook cooper cross day dean drake duke dyer earl english field fish fisher
    fletcher ford forest fox friend frost game gay gold golding good grace grant green grey
    gray hall hand hardy harper hart hay heath hill holly hood hope horn house hunt hunter
    ivy jolly joy judge keen king knight lamb lane law lord love low major marsh mason may
    mayor mill miller moon moore moss nash new noble north page park parker parsons peace
    pearl penny pike pope porter power price prince rich ring rivers rose rush salt sand
    savage shepherd short silver small smart snow sparrow spring stone storm summer swan
    tanner taylor thorn tower turner wall ward waters watt weaver west white wild winter
    wise wolf wood woods young
    """.split()
)
