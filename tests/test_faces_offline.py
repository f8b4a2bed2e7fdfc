"""The face pipeline runs with the network cut: every model file comes from an installed package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig

from tests.conftest import shared_file

SCRIPT = r"""
import json, socket, sys
attempts = []
def no_network(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "urllib.Request"):
        attempts.append(event)
        raise OSError("network used during the face pipeline: " + event)
sys.addaudithook(no_network)
import cv2
from kiosk.identity.dlibface import DlibFaces, model_paths
faces = DlibFaces()
a = faces.enrol(cv2.imread(sys.argv[1]))
b = faces.enrol(cv2.imread(sys.argv[2]))
print(json.dumps({"paths": [str(p) for p in model_paths().values()], "distance": DlibFaces.distance(a, b),
                  "attempts": attempts}))
"""


def _isolated() -> list[str]:
    """`unshare -rn` (a new network namespace with only a downed loopback) where the kernel allows it."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-rn"]
    return []


def test_face_pipeline_needs_no_network():
    same_a, same_b = shared_file("faces", "deepface", "img1.jpg"), shared_file("faces", "deepface", "img2.jpg")
    env = dict(os.environ)
    unroutable = "http://10.255.255.1:9"  # and should anything ask a proxy, this one never answers
    env.update(HTTP_PROXY=unroutable, HTTPS_PROXY=unroutable, http_proxy=unroutable, https_proxy=unroutable)
    env["HOME"] = "/nonexistent"  # no cache in a home folder to fall back on
    prefix = _isolated()
    out = subprocess.run(
        [*prefix, sys.executable, "-c", SCRIPT, str(same_a), str(same_b)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    site = sysconfig.get_paths()["purelib"]
    assert all(p.startswith(site) for p in result["paths"]), result["paths"]
    assert result["distance"] < 0.55, "the same person, recognised offline"
    if not prefix:
        print("unshare unavailable: ran with unroutable proxies and the audit hook only")
