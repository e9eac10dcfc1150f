"""The served runner starts each flow-run process from a fork server that has imported the
flows and warmed what a run loads on first use (``deployments.warm``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Run as a script: the fork server, like serve's, is a process of its own.
SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    import prefect.flow_engine

    from deployments.serve import start_runs_from_a_fork_server


    def report(queue):
        queue.put(sorted(m for m in sys.modules if m.startswith("apprise.plugins.")))


    if __name__ == "__main__":
        before = sorted(m for m in sys.modules if m.startswith("apprise.plugins."))
        start_runs_from_a_fork_server()
        # what Prefect's run_flow_in_subprocess asks for
        context = prefect.flow_engine.multiprocessing.get_context("spawn")
        queue = context.SimpleQueue()
        process = context.Process(target=report, args=(queue,))
        process.start()
        process.join(60)
        print(json.dumps({
            "method": context.get_start_method(),
            "exitcode": process.exitcode,
            "plugins_here": before,
            "plugins_in_run": queue.get(),
        }))
    """
)


def test_a_run_process_is_forked_with_the_flows_and_mail_plugins_loaded(tmp_path: Path) -> None:
    script = tmp_path / "fork_a_run.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["method"] == "forkserver"
    assert found["exitcode"] == 0
    # Apprise loads its hundred-odd plugins on first use: not yet in this process (only the
    # email plugin, which the mailer imports), already in the forked one.
    assert "apprise.plugins.home_assistant" not in found["plugins_here"]
    assert "apprise.plugins.home_assistant" in found["plugins_in_run"]
    assert len(found["plugins_in_run"]) > 100
