"""Spoken prompts: espeak-ng renders real Indonesian speech, the speaker caches it, plays it with the configured
player (a real process here), a new prompt cuts off the old one, and nothing ever blocks or raises."""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from kiosk.config.screen import SpeechConfig
from kiosk.hardware.speaker import (
    MAX_CHARS,
    EspeakSpeaker,
    MutedSpeaker,
    Speaker,
    SpeechError,
    bounded,
    build_speaker,
    render_wav,
)
from kiosk.sim.speaker import RecordingSpeaker

PROMPT = "Tempelkan KTP lama Anda pada pembaca kartu."


@pytest.fixture
def espeak() -> None:
    """The real espeak-ng: on CI its absence fails the test (it is a kiosk dependency), elsewhere it skips."""
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI"):
            pytest.fail("espeak-ng is not installed: run scripts/setup.sh (it installs espeak-ng and alsa-utils)")
        pytest.skip("espeak-ng is not installed (scripts/setup.sh installs it)")


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def wait_for(what: Callable[[], object], timeout_s: float = 5.0) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := what():
            return found
        time.sleep(0.01)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def samples(path: Path) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """(channels, sample width, frame rate, frames) and the samples of a 16-bit WAV."""
    with wave.open(str(path)) as w:
        shape = (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes())
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    return shape, data


def first_on_path(folder: Path) -> str:
    """PATH with `folder` first (its fake espeak-ng wins) and the system's tools after it."""
    return f"{folder}:/usr/bin:/bin"


def rms(data: np.ndarray) -> float:
    return float(np.sqrt(np.mean(data**2)))


# rendering


def test_an_indonesian_prompt_renders_to_a_real_spoken_wav(espeak, tmp_path):
    wav = render_wav(PROMPT, "id", tmp_path / "prompt.wav", rate_wpm=150, volume=80)
    (channels, width, rate, frames), data = samples(wav)
    assert (channels, width) == (1, 2)
    assert rate >= 16000
    assert frames / rate > 0.5
    assert rms(data) > 1000  # speech, not silence (int16 full scale is 32767)
    assert list(tmp_path.iterdir()) == [wav]  # no partial file left beside it


def test_volume_sets_the_loudness(espeak, tmp_path):
    quiet = rms(samples(render_wav(PROMPT, "id", tmp_path / "q.wav", rate_wpm=150, volume=20))[1])
    loud = rms(samples(render_wav(PROMPT, "id", tmp_path / "l.wav", rate_wpm=150, volume=80))[1])
    assert quiet < loud / 2


def test_espeak_gets_voice_rate_amplitude_and_the_text_on_stdin(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script(
        bin_dir / "espeak-ng",
        f'printf "%s\\n" "$@" > {tmp_path}/args\ncat > {tmp_path}/stdin\n'
        'while [ $# -gt 0 ]; do [ "$1" = -w ] && head -c 1000 /dev/zero > "$2"; shift; done\n',
    )
    monkeypatch.setenv("PATH", first_on_path(bin_dir))
    wav = render_wav("-v  jangan; rm -rf /", "id", tmp_path / "out.wav", rate_wpm=170, volume=80)
    args = lines(tmp_path / "args")
    assert args[args.index("-v") + 1] == "id"
    assert args[args.index("-s") + 1] == "170"
    assert args[args.index("-a") + 1] == "160"  # volume 0-100 is amplitude 0-200
    assert "--stdin" in args
    assert not any("jangan" in a for a in args)
    assert (tmp_path / "stdin").read_text() == "-v jangan; rm -rf /"
    assert wav.stat().st_size == 1000


def test_long_text_is_cut_at_a_word():
    text = "kata " * 300
    cut = bounded(text)
    assert len(cut) <= MAX_CHARS
    assert cut.split() == ["kata"] * len(cut.split())
    assert text.startswith(cut)
    assert bounded("  Tempelkan\n KTP  ") == "Tempelkan KTP"


def test_missing_espeak_is_a_speech_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SpeechError, match="not installed"):
        render_wav(PROMPT, "id", tmp_path / "x.wav", rate_wpm=150, volume=80)


def test_an_unknown_voice_is_a_speech_error(espeak, tmp_path):
    with pytest.raises(SpeechError, match="zz-none"):
        render_wav(PROMPT, "zz-none", tmp_path / "x.wav", rate_wpm=150, volume=80)
    assert not (tmp_path / "x.wav").exists()


def test_an_unwritable_file_is_a_speech_error_though_espeak_exits_0(espeak, tmp_path):
    with pytest.raises(SpeechError, match="no sound"):
        render_wav(PROMPT, "id", tmp_path / "missing-folder" / "x.wav", rate_wpm=150, volume=80)


def test_a_header_without_sound_is_a_speech_error(tmp_path, monkeypatch):
    script(tmp_path / "espeak-ng", 'while [ $# -gt 0 ]; do [ "$1" = -w ] && head -c 44 /dev/zero > "$2"; shift; done\n')
    monkeypatch.setenv("PATH", first_on_path(tmp_path))
    with pytest.raises(SpeechError, match="no sound"):
        render_wav(PROMPT, "id", tmp_path / "x.wav", rate_wpm=150, volume=80)
    assert not (tmp_path / "x.wav").exists()


def test_a_hanging_espeak_meets_its_deadline(tmp_path, monkeypatch):
    script(tmp_path / "espeak-ng", "exec sleep 30\n")
    monkeypatch.setenv("PATH", first_on_path(tmp_path))
    started = time.monotonic()
    with pytest.raises(SpeechError, match="longer than"):
        render_wav(PROMPT, "id", tmp_path / "x.wav", rate_wpm=150, volume=80, timeout_s=0.3)
    assert time.monotonic() - started < 5


def test_empty_text_is_a_speech_error(tmp_path):
    with pytest.raises(SpeechError, match="empty"):
        render_wav(" \n ", "id", tmp_path / "x.wav", rate_wpm=150, volume=80)


# the speaker


def recorder(tmp_path: Path) -> tuple[Path, Path]:
    """A player that writes its arguments to a file and ends at once."""
    calls = tmp_path / "calls"
    return script(tmp_path / "player", f'printf "%s\\n" "$*" >> {calls}\n'), calls


def sleeper(tmp_path: Path) -> tuple[Path, Path]:
    """A player that writes its pid and file, then plays for 30 s."""
    calls = tmp_path / "calls"
    return script(tmp_path / "player", f'echo "$$ $1" >> {calls}\nexec sleep 30\n'), calls


def test_a_prompt_is_rendered_once_then_played_from_the_cache(espeak, tmp_path):
    player, calls = recorder(tmp_path)
    cache = tmp_path / "speech"
    speaker = EspeakSpeaker(SpeechConfig(player=f"{player} -q"), cache)
    try:
        started = time.monotonic()
        speaker.say(PROMPT, "id")
        assert time.monotonic() - started < 0.2
        assert not list(cache.glob("*.wav"))  # say returned before the rendering was done
        wait_for(lambda: len(lines(calls)) == 1)
        (wav,) = cache.glob("*.wav")
        assert lines(calls) == [f"-q {wav}"]
        assert wav == speaker.wav_for(PROMPT, "id")
        made = wav.stat().st_mtime_ns

        speaker.say(PROMPT, "id")
        wait_for(lambda: len(lines(calls)) == 2)
        assert list(cache.glob("*.wav")) == [wav]
        assert wav.stat().st_mtime_ns == made
        assert lines(calls) == [f"-q {wav}"] * 2
        assert cache.stat().st_mode & 0o777 == 0o700
    finally:
        speaker.close()


def test_each_language_and_volume_has_its_own_recording(espeak, tmp_path):
    player, calls = recorder(tmp_path)
    cache = tmp_path / "speech"
    speaker = EspeakSpeaker(SpeechConfig(player=str(player)), cache)
    louder = EspeakSpeaker(SpeechConfig(player=str(player), volume=100), cache)
    try:
        speaker.say("KTP", "id")
        assert speaker.wait_idle(5)
        speaker.say("KTP", "en")
        assert speaker.wait_idle(5)
        louder.say("KTP", "id")
        assert louder.wait_idle(5)
        assert len(set(lines(calls))) == 3
        assert len(list(cache.glob("*.wav"))) == 3
    finally:
        speaker.close()
        louder.close()


def test_a_new_prompt_cuts_off_the_one_playing(espeak, tmp_path):
    player, calls = sleeper(tmp_path)
    speaker = EspeakSpeaker(SpeechConfig(player=str(player)), tmp_path / "speech")
    try:
        speaker.say("Satu", "id")
        wait_for(lambda: len(lines(calls)) == 1)
        first_pid, first_wav = lines(calls)[0].split()
        started = time.monotonic()
        speaker.say("Dua", "id")
        assert time.monotonic() - started < 0.2
        wait_for(lambda: gone(int(first_pid)), 3)
        wait_for(lambda: len(lines(calls)) == 2)
        second_pid, second_wav = lines(calls)[1].split()
        assert second_wav == str(speaker.wav_for("Dua", "id")) != first_wav
        assert not gone(int(second_pid))
    finally:
        speaker.close()
    wait_for(lambda: gone(int(second_pid)), 3)


def test_stop_silences_now_and_nothing_follows(espeak, tmp_path):
    player, calls = sleeper(tmp_path)
    speaker = EspeakSpeaker(SpeechConfig(player=str(player)), tmp_path / "speech")
    try:
        speaker.say(PROMPT, "id")
        wait_for(lambda: len(lines(calls)) == 1)
        speaker.stop()
        wait_for(lambda: gone(int(lines(calls)[0].split()[0])), 3)
        assert speaker.wait_idle(3)
        assert len(lines(calls)) == 1
    finally:
        speaker.close()


def slow_espeak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real espeak-ng behind a wrapper that marks when a rendering starts and takes 0.3 s longer."""
    real = shutil.which("espeak-ng")
    marks = tmp_path / "renders"
    script(tmp_path / "espeak-ng", f'echo x >> {marks}\nsleep 0.3\nexec {real} "$@"\n')
    monkeypatch.setenv("PATH", first_on_path(tmp_path))
    return marks


def test_a_prompt_overtaken_while_rendering_is_never_played(espeak, tmp_path, monkeypatch):
    marks = slow_espeak(tmp_path, monkeypatch)
    player, calls = recorder(tmp_path)
    speaker = EspeakSpeaker(SpeechConfig(player=str(player)), tmp_path / "speech")
    try:
        speaker.say("Satu", "id")
        wait_for(lambda: len(lines(marks)) == 1)
        speaker.say("Dua", "id")
        assert speaker.wait_idle(5)
        assert lines(calls) == [str(speaker.wav_for("Dua", "id"))]

        speaker.say("Tiga", "id")
        wait_for(lambda: len(lines(marks)) == 3)
        speaker.stop()
        assert speaker.wait_idle(5)
        assert len(lines(calls)) == 1
    finally:
        speaker.close()


def test_a_play_has_a_deadline(espeak, tmp_path, caplog):
    player, calls = sleeper(tmp_path)
    speaker = EspeakSpeaker(SpeechConfig(player=str(player)), tmp_path / "speech", play_timeout_s=0.5)
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk.hardware.speaker"):
            speaker.say(PROMPT, "id")
            wait_for(lambda: len(lines(calls)) == 1)
            assert speaker.wait_idle(5)
        assert gone(int(lines(calls)[0].split()[0]))
        assert "longer than 0.5 s" in caplog.text
    finally:
        speaker.close()


def test_a_missing_player_is_logged_once_and_never_raised(espeak, tmp_path, caplog):
    speaker = EspeakSpeaker(SpeechConfig(player=str(tmp_path / "no-player")), tmp_path / "speech")
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk.hardware.speaker"):
            for text in ("Satu", "Dua", "Tiga"):
                speaker.say(text, "id")
                assert speaker.wait_idle(5)
        assert len(caplog.records) == 1
        assert "cannot start" in caplog.records[0].getMessage()
        assert caplog.records[0].exc_info is None
    finally:
        speaker.close()


def test_a_malformed_player_command_is_logged_not_raised(espeak, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="kiosk.hardware.speaker"):
        speaker = build_speaker(SpeechConfig(player='aplay "-q'), tmp_path / "speech")
        try:
            speaker.say(PROMPT, "id")
            assert isinstance(speaker, EspeakSpeaker) and speaker.wait_idle(5)
        finally:
            speaker.close()
    assert "is not a command" in caplog.text
    assert list((tmp_path / "speech").glob("*.wav"))  # rendered; only the playing failed


def test_a_failing_renderer_is_logged_once_and_the_speaker_carries_on(tmp_path, monkeypatch, caplog):
    script(tmp_path / "espeak-ng", "echo 'broken voice data' >&2\nexit 3\n")
    monkeypatch.setenv("PATH", first_on_path(tmp_path))
    player, calls = recorder(tmp_path)
    speaker = EspeakSpeaker(SpeechConfig(player=str(player)), tmp_path / "speech")
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk.hardware.speaker"):
            for text in ("Satu", "Dua"):
                speaker.say(text, "id")
                assert speaker.wait_idle(5)
        assert [r.getMessage() for r in caplog.records] == [
            "speech not rendered: espeak-ng failed with voice 'id': broken voice data"
        ]
        assert lines(calls) == []
    finally:
        speaker.close()


def test_say_after_close_does_nothing(tmp_path):
    speaker = EspeakSpeaker(SpeechConfig(), tmp_path / "speech")
    speaker.close()
    speaker.say(PROMPT, "id")
    assert speaker.wait_idle(1)
    assert not (tmp_path / "speech").exists()


# choosing the speaker


def test_disabled_speech_is_muted(tmp_path):
    speaker = build_speaker(SpeechConfig(enabled=False), tmp_path / "speech")
    assert isinstance(speaker, MutedSpeaker)
    speaker.say(PROMPT, "id")
    speaker.stop()
    speaker.close()


def test_no_espeak_is_muted_with_a_warning(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PATH", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="kiosk.hardware.speaker"):
        speaker = build_speaker(SpeechConfig(), tmp_path / "speech")
    assert isinstance(speaker, MutedSpeaker)
    assert "espeak-ng is not installed" in caplog.text


def test_enabled_speech_with_espeak_speaks(espeak, tmp_path):
    speaker = build_speaker(SpeechConfig(), tmp_path / "speech")
    try:
        assert isinstance(speaker, EspeakSpeaker)
    finally:
        speaker.close()


# the simulator's speaker


def test_the_recording_speaker_keeps_what_was_said_in_order():
    speaker: Speaker = RecordingSpeaker()
    assert isinstance(speaker, RecordingSpeaker)
    assert speaker.last is None
    speaker.say(PROMPT, "id")
    speaker.say("Place your old KTP on the card reader.", "en")
    speaker.stop()
    assert speaker.said == [("id", PROMPT), ("en", "Place your old KTP on the card reader.")]
    assert speaker.last == ("en", "Place your old KTP on the card reader.")
    assert speaker.stopped == 1
    speaker.close()
    speaker.say("late", "id")
    assert speaker.last == ("en", "Place your old KTP on the card reader.")


def test_the_recording_speaker_is_thread_safe():
    speaker = RecordingSpeaker()

    def talk(n: int) -> None:
        for i in range(500):
            speaker.say(f"{n}-{i}", "id")
            speaker.stop()

    threads = [threading.Thread(target=talk, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(speaker.said) == 2000
    assert speaker.stopped == 2000
    for n in range(4):
        assert [text for _, text in speaker.said if text.startswith(f"{n}-")] == [f"{n}-{i}" for i in range(500)]
