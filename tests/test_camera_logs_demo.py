"""The OpenCV camera adapter on a real video file, log hygiene, and the real `kiosk demo` command."""

import logging
import os
import subprocess
import sys

import cv2
import pytest

from kiosk.cli import NikMaskingFilter
from kiosk.flow import events as ev
from kiosk.flow.model import Step
from kiosk.hardware.camera import Face, HeldTicket, OpenCvCamera, SimCamera
from kiosk.hardware.errors import DeviceMissing
from kiosk.identity.qr import decode_qr
from kiosk.identity.ticket import Service


def test_opencv_camera_reads_frames_and_the_ticket_decodes(tmp_path, world, clock):
    text = world.gateway.issue_ticket(world.resident(1), Service.PICKUP, now=clock())
    sim = SimCamera(1280, 720)
    sim.show(HeldTicket(text))
    path = tmp_path / "ticket.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10, (1280, 720))
    frame = sim.read()
    assert frame is not None
    for _ in range(5):
        writer.write(frame)
    writer.release()
    cam = OpenCvCamera(str(path))
    frame = cam.read()
    assert frame is not None and frame.shape == (720, 1280, 3)
    assert decode_qr(frame) == [text]  # through JPEG compression, as a webcam would deliver it
    cam.close()


def test_missing_camera_is_a_hardware_error():
    with pytest.raises(DeviceMissing):
        OpenCvCamera("/nonexistent/video0")


def test_masking_filter_hides_whole_niks_in_any_log_line():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "lookup %s failed", ("5371046508900001",), None)
    NikMaskingFilter().filter(record)
    assert record.getMessage() == "lookup ************0001 failed"


def test_a_whole_pickup_logs_no_nik(world, clock, caplog):
    caplog.set_level(logging.DEBUG)
    r = next(r for r in world.residents("ready_here") if r.old_chip_uid)
    world.camera.show(HeldTicket(world.gateway.issue_ticket(r, Service.PICKUP, now=clock())))
    world.kiosk.scan_frame()
    world.camera.show(Face(r.person))
    world.reader.insert(r.old_chip_uid)
    world.kiosk.pump()
    world.reader.insert(r.new_chip_uid)
    assert world.kiosk.pump().step == Step.HANDED_OVER
    world.kiosk.dispatch(ev.Press(ev.FINISH))
    world.sync.drain_once()
    assert caplog.text and r.nik not in caplog.text
    assert all(r.nik not in line for line in world.gateway.access_log)


def test_kiosk_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "kiosk.cli", "--help"], capture_output=True, text=True, check=True)
    for command in ("demo", "simulate", "run", "audit"):
        assert command in out.stdout


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs a display (the test command runs Xvfb)")
def test_kiosk_demo_starts_and_quits_cleanly(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "demo", "--windowed", "--exit-after", "4", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "kiosk demo: gateway at http://127.0.0.1:" in out.stdout
    assert (tmp_path / "kiosk.db").exists()
