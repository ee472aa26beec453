"""What every bench script does the same way: stop a server it started, write its section of PERFORMANCE.md."""

import os
import signal
import subprocess
from pathlib import Path


def stop_group(process: subprocess.Popen | None) -> None:
    """Stop a server started in its own process group (`start_new_session=True`): SIGTERM, SIGKILL after 30 s."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def write_section(path: Path | None, text: str) -> None:
    """The bench's Markdown section to `--markdown PATH`, if given."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
