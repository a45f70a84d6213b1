"""The issuing service for the GUI tests, in its own process (as the tray meets it in real use).

Same code as `certassist-server`, with one test-only change made here, not in the product: the
captcha's random answer is fixed so that the tests can type it (the image is still the real one).
It runs on the service's Python (``tests.peers.service_python``), so the tray's tests also run on
Python 3.8: this module imports the service only in the child.

The child also serves the operator: each line on its stdin is a JSON list of `certassist-server`
arguments (``["account", "add", ...]``), run by the real command line against this service's data dir
and database; each answer is one JSON line on stdout, ``{"exit_code": N, "output": "..."}``. When stdin
closes, the service stops.
Usage: python -m tests.gui.live_service DATA_DIR PORT SMTP_PORT VALIDITY_DAYS [BRIDGE_PORT [HOST]]
(BRIDGE_PORT: the browser bridge port the web portal's page calls; HOST: the loopback address to listen on.)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, List, TextIO

CAPTCHA = "ACDE"


def operator_options(data_dir: Path, port: int, smtp_port: int, validity_days: int) -> List[str]:
    """`certassist-server` options for this service (the operator's commands take the same ones)."""
    return [
        *("--data-dir", str(data_dir), "--port", str(port)),
        *("--mail", "smtp", "--smtp-port", str(smtp_port), "--validity-days", str(validity_days)),
    ]


def _operator_console(options: List[str], replies: TextIO, server: Any) -> None:
    import click

    from server.cli import main as cli
    from server.errors import ServiceError

    for line in sys.stdin:
        output = io.StringIO()
        exit_code = 0
        with contextlib.redirect_stdout(output):
            try:
                cli.main([*options, *json.loads(line)], prog_name="certassist-server", standalone_mode=False)
            except ServiceError as exc:
                output.write(f"certassist-server: {exc.message} [{exc.code}]\n")
                exit_code = 1
            except click.ClickException as exc:
                output.write(exc.format_message() + "\n")
                exit_code = exc.exit_code
            except Exception:  # a bug: the test fails with its traceback instead of waiting for an answer
                output.write(traceback.format_exc())
                exit_code = 1
        replies.write(json.dumps({"exit_code": exit_code, "output": output.getvalue()}) + "\n")
        replies.flush()
    server.should_exit = True  # the test process went away


def main() -> None:
    import uvicorn

    from server import captcha
    from server.app import create_app
    from server.config import MailConfig, ServerConfig

    data_dir, port, smtp_port, validity_days = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    bridge_port = int(sys.argv[5]) if len(sys.argv) > 5 else 8471
    host = sys.argv[6] if len(sys.argv) > 6 else "127.0.0.1"
    replies = os.fdopen(os.dup(1), "w")  # the operator's answers: anything else printed goes to stderr
    os.dup2(2, 1)
    captcha.new_answer = lambda: CAPTCHA
    config = ServerConfig(  # what operator_options() say: SQLite in the data dir, mail to the test's SMTP server
        data_dir=data_dir,
        host=host,
        port=port,
        bridge_port=bridge_port,
        mail=MailConfig(mode="smtp", smtp_host="127.0.0.1", smtp_port=smtp_port),
        validity_days=validity_days,
        ca_cache_s=0,  # a CA rotation by the operator (another service object) is seen at once, without waiting
    )
    app = create_app(config)  # database and CA set up before the port opens
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    options = operator_options(data_dir, port, smtp_port, validity_days)
    threading.Thread(target=_operator_console, args=(options, replies, server), name="operator", daemon=True).start()
    server.run()


if __name__ == "__main__":
    main()
