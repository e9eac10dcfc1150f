"""The simulation's throwaway Prefect server: what it switches off in this process, and that
it gives everything back afterwards."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

import prefect.flow_engine
from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_URL

from case_reviews.simulation.server import (
    EmbeddedPrefect,
    one_certificate,
    simulation_home,
    suspension_observer_off,
)


def test_one_certificate_is_a_loadable_bundle_of_one(tmp_path: Path) -> None:
    path = one_certificate(tmp_path)
    assert path.read_text().count("BEGIN CERTIFICATE") == 1
    context = ssl.create_default_context(cafile=str(path))
    assert len(context.get_ca_certs()) == 1


def test_the_observer_is_off_inside_and_back_after_concurrent_simulations() -> None:
    engine = prefect.flow_engine
    original = engine.observe_flow_run_suspension  # type: ignore[attr-defined]
    inside, go_on = threading.Barrier(2), threading.Event()
    seen = []

    def simulation() -> None:
        with suspension_observer_off():
            inside.wait(10)
            seen.append(engine.observe_flow_run_suspension)  # type: ignore[attr-defined]
            go_on.wait(10)

    threads = [threading.Thread(target=simulation) for _ in range(2)]
    for thread in threads:
        thread.start()
    go_on.set()
    for thread in threads:
        thread.join(10)
    assert len(seen) == 2 and all(s is not original for s in seen)
    assert engine.observe_flow_run_suspension is original  # type: ignore[attr-defined]


def test_a_ready_server_points_this_process_at_it_and_stops_at_the_end() -> None:
    with simulation_home(None) as home, home.server.ready() as api_url:
        assert PREFECT_API_URL.value() == api_url
        assert Path(PREFECT_API_SSL_CERT_FILE.value() or "").is_file()
        server: EmbeddedPrefect = home.server
        assert server.process is not None and server.process.poll() is None
    assert server.process is None
    assert not home.workdir.exists()
