"""Speaker port: every instruction on the kiosk spoken aloud (ADA 707 / EN 301 549 speech output that can be
repeated and interrupted). espeak-ng renders each prompt once to a cached WAV; a player command plays it."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from kiosk.hardware.errors import HardwareError

log = logging.getLogger(__name__)

ESPEAK = "espeak-ng"
MAX_CHARS = 600  # a prompt is a sentence or two; anything longer is cut at a word
WAV_HEADER = 44  # bytes of a RIFF/WAVE header: a file this size or smaller holds no sound
CACHE_FORMAT = "1"  # part of every cache key; bump it when the rendering changes


class SpeechError(HardwareError, RuntimeError):
    """A prompt could not be rendered (espeak-ng missing, too slow, failed, or wrote no sound)."""


class SpeechSettings(Protocol):
    """What the speaker reads of [speech]: kiosk.config.SpeechConfig, described here by shape because
    kiosk.config imports kiosk.hardware (an import back would be a circle)."""

    @property
    def enabled(self) -> bool: ...
    @property
    def volume(self) -> int: ...  # 0-100
    @property
    def rate_wpm(self) -> int: ...
    @property
    def voices(self) -> Mapping[str, str]: ...  # language -> espeak-ng voice
    @property
    def player(self) -> str: ...  # the command that plays a WAV file, e.g. "aplay -q"


class Speaker(Protocol):
    """Speaks a prompt. Calls return at once; a new `say` interrupts what is playing."""

    def say(self, text: str, lang: str) -> None:
        """Speak `text` in language `lang` ("id", "en"), cutting off whatever is playing."""
        ...

    def stop(self) -> None:
        """Silence now."""
        ...

    def close(self) -> None:
        """Silence and release the speaker; later calls do nothing."""
        ...


class MutedSpeaker:
    """A speaker that says nothing: speech disabled, or no espeak-ng on this machine."""

    def say(self, text: str, lang: str) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def bounded(text: str, limit: int = MAX_CHARS) -> str:
    """`text` with its whitespace collapsed and, if longer than `limit`, cut at the last word that fits."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut[:limit]
    return head[:limit].rstrip()


def amplitude(volume: int) -> int:
    """espeak-ng's amplitude (0-200) for a volume of 0-100."""
    return max(0, min(100, volume)) * 2


def render_wav(text: str, voice: str, path: Path, *, rate_wpm: int, volume: int, timeout_s: float = 10.0) -> Path:
    """Render `text` with espeak-ng to the WAV file `path` and return it.

    The text goes on stdin (never through a shell, never as an argument), bounded to MAX_CHARS. The file
    appears whole or not at all. Raises SpeechError on any failure.
    """
    text = bounded(text)
    if not text:
        raise SpeechError("nothing to say: the text is empty")
    exe = shutil.which(ESPEAK)
    if exe is None:
        raise SpeechError(f"{ESPEAK} is not installed (apt-get install {ESPEAK})")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    cmd = [exe, "-v", voice, "-s", str(rate_wpm), "-a", str(amplitude(volume)), "-b", "1", "-w", str(tmp), "--stdin"]
    try:
        try:
            done = subprocess.run(cmd, input=text.encode(), capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            raise SpeechError(f"{ESPEAK} took longer than {timeout_s:g} s") from None
        except OSError as exc:
            raise SpeechError(f"{ESPEAK} could not be started: {exc}") from None
        if done.returncode != 0:
            why = _last_line(done.stderr) or f"exit status {done.returncode}"
            raise SpeechError(f"{ESPEAK} failed with voice {voice!r}: {why}")
        # espeak-ng exits 0 even when it cannot write the file, so the file is the proof
        if not tmp.is_file() or tmp.stat().st_size <= WAV_HEADER:
            why = _last_line(done.stderr) or "no sound written"
            raise SpeechError(f"{ESPEAK} wrote no sound to {path}: {why}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def player_command(player: str) -> list[str]:
    """The player's argv from its config string (split as a shell would, never run by one); [] if malformed."""
    try:
        return shlex.split(player)
    except ValueError:  # an unclosed quote
        return []


def _last_line(stream: bytes | None) -> str:
    lines = (stream or b"").decode(errors="replace").strip().splitlines()
    return lines[-1][:200] if lines else ""


class EspeakSpeaker:
    """Speaks through espeak-ng and a player command (`aplay -q <file>`), all off the caller's thread.

    One worker thread renders each (voice, rate, volume, text) once into the cache and plays it; only the
    latest request is spoken. `say` and `stop` kill the playing player's process group at once. Faults are
    logged once per kind and never raised to the caller.
    """

    def __init__(
        self,
        cfg: SpeechSettings,
        cache_dir: Path,
        *,
        play_timeout_s: float = 60.0,
        render_timeout_s: float = 10.0,
    ) -> None:
        self._cfg = cfg
        self._cache = cache_dir
        self._player = player_command(cfg.player)
        self._play_timeout_s = play_timeout_s
        self._render_timeout_s = render_timeout_s
        self._cond = threading.Condition()
        self._pending: tuple[str, str] | None = None  # (text, lang), the latest request not yet taken
        self._generation = 0  # bumped by every say and stop: a request from an older one is not played
        self._busy = False  # the worker is rendering or playing
        self._proc: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._logged: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="speaker", daemon=True)
        self._thread.start()

    @staticmethod
    def available() -> bool:
        """Whether espeak-ng is on PATH."""
        return shutil.which(ESPEAK) is not None

    def say(self, text: str, lang: str) -> None:
        with self._cond:
            if self._closed:
                return
            self._generation += 1
            self._pending = (text, lang)
            self._kill_player()
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._generation += 1
            self._pending = None
            self._kill_player()
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._closed = True
        self.stop()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is pending, rendering or playing (for tests and bench runs); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._pending is not None or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def wav_for(self, text: str, lang: str) -> Path:
        """The cache file that holds `text` spoken in `lang` with this configuration."""
        voice = self._cfg.voices.get(lang, lang)
        key = "\0".join((CACHE_FORMAT, voice, str(self._cfg.rate_wpm), str(amplitude(self._cfg.volume)), bounded(text)))
        return self._cache / f"{hashlib.sha256(key.encode()).hexdigest()}.wav"

    # the worker

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._closed:
                    self._cond.wait()
                request, self._pending = self._pending, None
                if self._closed or request is None:
                    self._cond.notify_all()
                    return
                text, lang = request
                generation = self._generation
                self._busy = True
            try:
                wav = self._rendered(text, lang)
                if wav is not None:
                    self._play(wav, generation)
            except Exception as exc:  # the worker must outlive any fault; say() never raises
                self._log_once("worker", "speech worker fault: %s: %s", type(exc).__name__, exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _rendered(self, text: str, lang: str) -> Path | None:
        """The cached WAV of `text`, rendered now if not yet; None (logged) when it cannot be."""
        if not bounded(text):
            return None
        wav = self.wav_for(text, lang)
        if wav.is_file() and wav.stat().st_size > WAV_HEADER:
            return wav
        try:
            # Only catalogue prompts are cached here (instructions from the translation catalogue, no names,
            # no NIK, nothing a resident typed); the folder is still private to the kiosk's user.
            self._cache.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._cache.chmod(0o700)
        except OSError as exc:
            self._log_once("cache", "speech cache %s unusable: %s", self._cache, exc)
            return None
        voice = self._cfg.voices.get(lang, lang)
        try:
            return render_wav(
                text,
                voice,
                wav,
                rate_wpm=self._cfg.rate_wpm,
                volume=self._cfg.volume,
                timeout_s=self._render_timeout_s,
            )
        except SpeechError as exc:
            self._log_once(f"render:{voice}", "speech not rendered: %s", exc)
            return None

    def _play(self, wav: Path, generation: int) -> None:
        with self._cond:
            if generation != self._generation or self._closed:
                return  # a newer say or a stop came while rendering
            if not self._player:
                self._log_once("player-start", "speech player %r is not a command", self._cfg.player)
                return
            try:
                proc = subprocess.Popen(
                    [*self._player, str(wav)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,  # its own process group: a kill also ends a wrapper's children
                )
            except (OSError, ValueError) as exc:
                self._log_once("player-start", "speech player %r cannot start: %s", self._cfg.player, exc)
                return
            self._proc = proc
        try:
            try:
                _, err = proc.communicate(timeout=self._play_timeout_s)
            except subprocess.TimeoutExpired:
                self._kill(proc)
                _, err = proc.communicate()
                self._log_once("player-timeout", "speech player took longer than %g s; stopped", self._play_timeout_s)
                return
        finally:
            with self._cond:
                if self._proc is proc:
                    self._proc = None
                interrupted = generation != self._generation
        if proc.returncode != 0 and not interrupted:
            why = _last_line(err) or f"exit status {proc.returncode}"
            self._log_once("player-exit", "speech player %r failed: %s", self._cfg.player, why)

    def _kill_player(self) -> None:
        """Kill the playing player, if any (called with the lock held)."""
        if self._proc is not None:
            self._kill(self._proc)

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        # the whole group, even when its leader has ended: a wrapper's children may still be playing
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def _log_once(self, kind: str, msg: str, *args: object) -> None:
        with self._cond:
            if kind in self._logged:
                return
            self._logged.add(kind)
        log.warning(msg, *args)


def build_speaker(cfg: SpeechSettings, cache_dir: Path) -> Speaker:
    """The kiosk's speaker: muted when speech is disabled or espeak-ng is missing, else espeak-ng's."""
    if not cfg.enabled:
        log.info("speech: disabled in [speech]; prompts are not spoken")
        return MutedSpeaker()
    if not EspeakSpeaker.available():
        log.warning("speech: %s is not installed; prompts are not spoken (apt-get install %s)", ESPEAK, ESPEAK)
        return MutedSpeaker()
    player = player_command(cfg.player)
    if not player or shutil.which(player[0]) is None:
        log.warning("speech: player %r is not installed; prompts will not be heard", cfg.player)
    return EspeakSpeaker(cfg, cache_dir)
