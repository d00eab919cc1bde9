"""lpd.Control against a real lpd, started in a private folder with its
own socket and state folder, as the integration tests start one."""
import json
import os
import re
import shutil

import pytest

import lpd
from conftest import WAIT, need_env, program, run, until

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def daemon(tmp, pyenv, procs):
    """A running lpd: (its socket, the environment to launch with)."""
    sock = os.path.join(tmp, "lpd.sock")
    p = procs([need_env("LPD"), "-f", "-S", sock, "-s",
               os.path.join(tmp, "lpd-state")], env=pyenv)

    def up():
        assert p.p.poll() is None, "lpd exited at start:\n" + p.text()
        try:
            lpd.Control(sock).close()
            return True
        except lpd.RpcError:
            return False
    until(up, "lpd answers on " + sock)
    yield sock, pyenv
    p.p.terminate()
    p.wait()


def waiter_program(tmp):
    shutil.copy(os.path.join(HERE, "pynode.py"), tmp)
    return program(os.path.join(tmp, "waiter.json"), {
        "program": "waiter",
        "nodes": [{"group": "py", "type": "courier",
                   "command": ["python3", "pynode.py"],
                   "config": {"wait": True}}]})


def test_launch_wait_status_logs(daemon):
    sock, env = daemon
    path = os.path.join(need_env("EXAMPLES"), "python",
                        "consumer_producers.json")
    with lpd.Control(sock) as ctl:
        assert ctl.hello["version"] == 1
        name = ctl.launch(path, env=env)
        assert name == "consumer_producers_py"
        assert ctl.wait(name) == 0
        st = ctl.status(name)
        assert st["programs"][0]["state"] == "exited"
        assert st["programs"][0]["status"] == 0
        assert len(st["programs"][0]["nodes"]) == 5
        # Just what lpctl status --json prints.
        r = run([need_env("LPCTL"), "--socket", sock, "status", "--json",
                 name])
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == st
        assert name in [p["name"] for p in ctl.status()["programs"]]
        assert ctl.logs(name, "consumer/0") == [
            "round 0: results [0,1,2,3], sum 6",
            "round 1: results [4,5,6,7], sum 22",
            "round 2: results [8,9,10,11], sum 38"]
        assert ctl.logs(name, "consumer/0", n=1) == [
            "round 2: results [8,9,10,11], sum 38"]
        stamped = ctl.logs(name, "consumer/0", n=1, timestamps=True)
        assert len(stamped) == 1
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z round 2: "
                        r"results \[8,9,10,11\], sum 38$", stamped[0]), stamped
        assert "[consumer/0] round 0: results [0,1,2,3], sum 6" in \
            ctl.logs(name)


def test_call_stop_and_errors(daemon, tmp):
    sock, env = daemon
    path = waiter_program(tmp)
    with lpd.Control(sock) as ctl:
        name = ctl.launch(path, name="w1", env=env)
        assert name == "w1"
        node = until(lambda: [n for n in
                              ctl.status(name)["programs"][0]["nodes"]
                              if n["state"] == "running"],
                     "the Python node runs")[0]
        assert node["name"] == "py/0"
        # lpctl call is a C client (through lpd) of the Python node.
        r = run([need_env("LPCTL"), "--socket", sock, "call", name, "py/0",
                 "echo", "[1, 2.5]", "k=\"v\""])
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout) == [[[1, 2.5]], {"k": "v"}]
        with ctl.client(name, "py/0", timeout=WAIT) as c:
            assert c.ping() == "pong from py/0"
        with pytest.raises(lpd.RpcError) as e:
            ctl.launch(path, name="w1", env=env)
        assert e.value.code == "ALREADY_EXISTS"
        assert ctl.stop(name) == 0
        p = ctl.status(name)["programs"][0]
        assert p["state"] == "exited"
        assert [n["exit"] for n in p["nodes"]] == ["exited with status 0"]
        with pytest.raises(lpd.RpcError) as e:
            ctl.status("nope")
        assert e.value.code == "NOT_FOUND"
        assert 'no program "nope"' in e.value.message
        bad = program(os.path.join(tmp, "bad.json"), {"program": "bad",
                                                     "nodes": [{}]})
        with pytest.raises(lpd.RpcError) as e:
            ctl.launch(bad, env=env)
        assert e.value.code == "INVALID_ARGUMENT"


def test_no_lpd(tmp):
    sock = os.path.join(tmp, "none.sock")
    with pytest.raises(lpd.RpcError) as e:
        lpd.Control(sock)
    assert e.value.code == "UNAVAILABLE"
    assert e.value.message.startswith("cannot reach lpd at %s: " % sock)
    assert "start lpd first" in e.value.message


def test_default_socket(monkeypatch):
    monkeypatch.setenv("LPD_SOCKET", "/x/lpd.sock")
    assert lpd.default_socket() == "/x/lpd.sock"
    monkeypatch.delenv("LPD_SOCKET")
    if os.geteuid() == 0:
        assert lpd.default_socket() == "/run/lpd/lpd.sock"
    else:
        monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/7")
        assert lpd.default_socket() == "/run/user/7/lpd/lpd.sock"


def test_failed_program(daemon, tmp):
    sock, env = daemon
    shutil.copy(os.path.join(HERE, "pynode.py"), tmp)
    path = program(os.path.join(tmp, "fails.json"), {
        "program": "fails",
        "nodes": [{"group": "py", "type": "process",
                   "command": ["python3", "pynode.py"],
                   "config": {"exit": 3}}]})
    with lpd.Control(sock) as ctl:
        name = ctl.launch(path, env=env)
        assert ctl.wait(name) == 1
        p = ctl.status(name)["programs"][0]
        assert p["state"] == "failed"
        assert p["nodes"][0]["exit_status"] == 1
        assert "py/0: run returned 3" in ctl.logs(name, "py/0")
        # An ended program: nothing to stop, its status as it was.
        assert ctl.stop(name, wait=False) == "failed"
