"""The issuing service for the GUI tests, in its own process (as the tray meets it in real use).

Same code as `certassist-server`, with one test-only change made here, not in the product: the
captcha's random answer is fixed so that the tests can type it (the image is still the real one).
Usage: python -m tests.gui.live_service DATA_DIR PORT SMTP_PORT VALIDITY_DAYS
"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from server import captcha
from server.app import create_app
from server.config import MailConfig, ServerConfig

CAPTCHA = "ACDE"


def config_for(data_dir: Path, port: int, smtp_port: int, validity_days: int) -> ServerConfig:
    return ServerConfig(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'server.db'}",
        mail=MailConfig(mode="smtp", smtp_host="127.0.0.1", smtp_port=smtp_port),
        public_url=f"http://127.0.0.1:{port}",
        validity_days=validity_days,
        ca_cache_s=0,  # a CA rotation by the test's operator handle is seen at once, without waiting
    )


def main() -> None:
    data_dir, port, smtp_port, validity_days = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    captcha.new_answer = lambda: CAPTCHA
    app = create_app(config_for(data_dir, port, smtp_port, validity_days))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
