"""What the tests of the lpd Python package share.

meson sets the paths of the C programs the tests run beside the Python
ones (LPCTL, LPD, TESTNODE, ECHO_SERVER, ECHO_CLIENT, EXAMPLES) and
PYTHONPATH to the package in the build folder. Each test gets a private
folder with a short path (Unix socket paths are at most 107 bytes).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import lpd

# Every wait is bounded: a hang fails the test instead of stalling it.
WAIT = 60.0


def need_env(name):
    v = os.environ.get(name)
    if not v:
        pytest.fail("%s is not set: run these tests with `meson test "
                    "--suite python`" % name)
    return v


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="lpy-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def pyenv(tmp):
    """An environment whose python3 is this interpreter (which has
    google.protobuf) and whose PYTHONPATH finds lpd: what program files'
    ["python3", "node.py"] commands need."""
    bindir = os.path.join(tmp, "bin")
    os.mkdir(bindir)
    os.symlink(sys.executable, os.path.join(bindir, "python3"))
    env = dict(os.environ)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env["XDG_STATE_HOME"] = os.path.join(tmp, "state")
    env["NO_COLOR"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


class Proc:
    """A process started by a test, killed at the end if still there."""

    def __init__(self, argv, env=None, cwd=None):
        self.out = tempfile.TemporaryFile()
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.out,
                                  stderr=self.err, start_new_session=True)

    def wait(self, timeout=WAIT):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("%s still runs after %g s:\n%s"
                        % (self.p.args, timeout, self.text()))

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()

    def stdout(self):
        self.out.seek(0)
        return self.out.read().decode("utf-8", "replace")

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode("utf-8", "replace")

    def text(self):
        return "--- stdout\n%s--- stderr\n%s" % (self.stdout(),
                                                 self.stderr())


@pytest.fixture
def procs():
    started = []

    def start(argv, env=None, cwd=None):
        p = Proc(argv, env, cwd)
        started.append(p)
        return p
    yield start
    for p in started:
        p.kill()


def run(argv, env=None, timeout=WAIT, cwd=None):
    """Run argv to its end; the CompletedProcess, text out."""
    try:
        return subprocess.run(argv, env=env, cwd=cwd, capture_output=True,
                              stdin=subprocess.DEVNULL, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail("%s still runs after %g s:\n%s%s"
                    % (argv, timeout, e.stdout, e.stderr))


def until(cond, what, timeout=WAIT):
    """Poll cond until it is true; fail naming what after timeout."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > end:
            pytest.fail("%s: not after %g s" % (what, timeout))
        time.sleep(0.02)


def program(path, text):
    """Write a program file (a dict, as JSON)."""
    with open(path, "w") as f:
        json.dump(text, f, indent=1)
    return path


@pytest.fixture
def serve(tmp):
    """serve(obj_or_methods, **opts): an lpd.Server on a Unix socket in
    tmp, started; stopped at the end."""
    servers = []

    def start(methods, name="s", **opts):
        s = lpd.Server(methods, **opts)
        s.listen("unix:" + os.path.join(tmp, name + ".sock"))
        s.start()
        servers.append(s)
        return s
    yield start
    for s in servers:
        s.stop(0.5)


class RawServer:
    """A courier peer written by hand, to send what lpd.Server never
    would: answer(frame) returns the frames to send back (after the
    hello, which is answered), or "close" to close the connection. The
    frames it got are in .frames."""

    def __init__(self, path, answer, hello=True):
        import socket
        import threading
        self.path = path
        self.address = "unix:" + path
        self.answer = answer
        self.hello = hello
        self.frames = []
        self.conns = []
        self.ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ls.bind(path)
        self.ls.listen(8)
        self.t = threading.Thread(target=self._main, daemon=True)
        self.t.start()

    def _main(self):
        import threading
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._conn, args=(c,),
                             daemon=True).start()

    def _conn(self, c):
        from lpd import _wire
        r = _wire.Reader(_wire.MAX_FRAME_DEFAULT)
        while True:
            try:
                data = c.recv(65536)
            except OSError:
                return
            if not data:
                return
            r.feed(data)
            while True:
                f = r.next()
                if f is None:
                    break
                self.frames.append(f)
                if f.WhichOneof("body") == "hello":
                    if self.hello:
                        c.sendall(_wire.pack(_wire.hello_frame()))
                    continue
                out = self.answer(f)
                if out == "close":
                    c.close()
                    return
                for o in out or ():
                    c.sendall(o if isinstance(o, bytes) else _wire.pack(o))

    def close(self):
        self.ls.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


@pytest.fixture
def raw_server(tmp):
    made = []

    def start(answer, name="raw", **kw):
        s = RawServer(os.path.join(tmp, name + ".sock"), answer, **kw)
        made.append(s)
        return s
    yield start
    for s in made:
        s.close()
