"""Child process of test_skf_escrow_crash.py: 硬证书签发 on a soft SKF key, SIGKILLed by itself the moment the key has
accepted the new admin PIN, before it could record that (or send the request).

Usage (CERTASSIST_HOME, SOFTSKF_HOME and the keyring come from the environment):
    python skf_escrow_worker.py LIBRARY SERVICE_URL USERNAME APPLICANT CAPTCHA PIN
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import flows
from app.api_client import IssuingClient
from drivers.skf import SkfBackend
from drivers.skf.api import ADMIN_TYPE, Sar


def main(library: str, url: str, username: str, applicant: str, captcha: str, pin: str) -> None:
    [device] = SkfBackend([library]).devices()
    client = IssuingClient(url)
    client.login_account(username, applicant, client.captcha().captcha_id, captcha)
    original = device.library.call  # type: ignore[attr-defined]

    def call(name: str, *args: Any) -> int:
        code = int(original(name, *args))
        if name == "SKF_ChangePIN" and args[1] == ADMIN_TYPE and code == Sar.SAR_OK:
            print("changed", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)  # the change is on the key; nothing after it ran
        return code

    device.library.call = call  # type: ignore[attr-defined]
    flows.issue_hard(client, device, username, pin)
    print("finished without a kill", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:7])
