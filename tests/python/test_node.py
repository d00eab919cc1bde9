"""The node runtime, run by `lpctl run` from program files: Python and C
nodes calling each other both ways, handles, stop, exit statuses."""
import json
import os
import re
import shutil
import signal
import sys

import pytest

from conftest import WAIT, need_env, program, run, until

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def prog(tmp, pyenv):
    """prog(name, nodes): a program file in tmp, pynode.py beside it (PY
    runs it) and C's testnode at its place in the build folder (C)."""
    shutil.copy(os.path.join(HERE, "pynode.py"), tmp)

    def make(name, nodes, **extra):
        for n in nodes:
            if n["command"] == ["testnode"]:
                n["command"] = [need_env("TESTNODE")]
        return program(os.path.join(tmp, name + ".json"),
                       dict({"program": name, "nodes": nodes}, **extra))
    return make


PY = ["python3", "pynode.py"]


def lpctl_run(path, env, *args):
    return run([need_env("LPCTL"), "run", *args, path], env=env)


def test_python_calls_c_and_stops_the_program(prog, pyenv):
    path = prog("pyc", [
        {"group": "c", "type": "courier", "run": False,
         "command": ["testnode"]},
        {"group": "py", "type": "courier", "command": PY,
         "config": {"call": {"$handle": "c"}, "method": "ping",
                    "stop": True, "wait": True}}])
    r = lpctl_run(path, pyenv)
    assert r.returncode == 0, r.stderr
    assert "[py/0] reply: \"pong from c/0\"\n" in r.stdout
    assert "stopping the program: py/0 asked" in r.stderr
    assert "py/0: exited with status 0" in r.stderr
    assert "c/0: exited with status 0" in r.stderr


def test_c_calls_python_which_stops_the_program(prog, pyenv):
    """lp_stop_program's Python twin, from a method's thread."""
    path = prog("cpy", [
        {"group": "target", "type": "courier", "command": PY,
         "config": {"wait": True}},
        {"group": "caller", "type": "courier", "command": ["testnode"],
         "config": {"call": {"$handle": "target"},
                    "method": "stop_program", "wait": True}}])
    r = lpctl_run(path, pyenv)
    assert r.returncode == 0, r.stderr
    assert "[target/0] stop_program called\n" in r.stdout
    assert re.search(r'^\[caller/0\] (reply: "stopping"|caller/0: '
                     r'CANCELLED: .*)$', r.stdout, re.M), r.stdout
    assert "stopping the program: target/0 asked" in r.stderr
    assert "target/0: exited with status 0" in r.stderr


def test_calls_cross_both_ways_and_sigterm_stops(prog, pyenv, procs):
    """C calls Python, whose method calls C; SIGTERM then stops every
    node, the Python one with status 0."""
    path = prog("both", [
        {"group": "c", "type": "courier", "run": False,
         "command": ["testnode"]},
        {"group": "py", "type": "courier", "run": False, "command": PY,
         "config": {"peer": {"$handle": "c"}}},
        {"group": "caller", "type": "courier", "command": ["testnode"],
         "config": {"call": {"$handle": "py"}, "method": "chain",
                    "wait": True}}])
    p = procs([need_env("LPCTL"), "run", path], env=pyenv)
    until(lambda: "[caller/0] reply:" in p.stdout(), "the chain's reply")
    assert '[caller/0] reply: "pong from c/0 via py/0"\n' in p.stdout()
    p.p.send_signal(signal.SIGTERM)
    assert p.wait() == 143, p.text()
    err = p.stderr()
    for n in ("c/0", "py/0", "caller/0"):
        assert "%s: exited with status 0" % n in err, err


def test_handles_and_config(prog, pyenv, procs):
    """Handles arrive as lpd.Client objects wherever LP_HANDLES says,
    other config values as JSON values; run: false serves without
    running."""
    path = prog("cfg", [
        {"group": "c", "type": "courier", "replicas": 2, "run": False,
         "command": ["testnode"]},
        {"group": "py", "type": "courier", "run": False, "command": PY,
         "config": {"peer": {"$handle": "c/1"},
                    "deep": {"peers": {"$handles": "c"}, "n": [1, 2.5],
                             "s": "unix:/not/a/handle"},
                    "flag": True, "none": None}},
        {"group": "caller", "type": "courier", "command": ["testnode"],
         "config": {"call": {"$handle": "py"}, "method": "kinds",
                    "wait": True}}])
    p = procs([need_env("LPCTL"), "run", path], env=pyenv)
    until(lambda: "[caller/0] reply:" in p.stdout(), "the kinds")
    line = [x for x in p.stdout().splitlines()
            if x.startswith("[caller/0] reply: ")][0]
    kinds = json.loads(line[len("[caller/0] reply: "):])
    assert kinds == {
        "peer": "Client",
        "deep": {"peers": ["Client", "Client"], "n": ["int", "float"],
                 "s": "str"},
        "flag": "bool", "none": "NoneType", "call": "NoneType"}


def test_wait_for_stop(prog, pyenv):
    path = prog("waits", [
        {"group": "py", "type": "process", "command": PY,
         "config": {"check_wait": True, "stop": True}}])
    r = lpctl_run(path, pyenv)
    assert r.returncode == 0, r.stderr
    assert "[py/0] before: False\n[py/0] after: True\n" in r.stdout


@pytest.mark.parametrize("config,why", [
    ({"raise_in": "init"},
     "py/0: setup failed: ValueError: asked to fail in __init__"),
    ({"raise_in": "run"}, "py/0: run raised ValueError: asked to fail in "
     "run"),
    ({"exit": 3}, "py/0: run returned 3"),
])
def test_failures_exit_1(prog, pyenv, config, why):
    path = prog("fails", [
        {"group": "py", "type": "courier", "command": PY,
         "config": config}])
    r = lpctl_run(path, pyenv)
    assert r.returncode == 1, r.stderr
    assert "[py/0] " + why in r.stdout + r.stderr
    assert "py/0: failed: exited with status 1" in r.stderr


def test_config_that_does_not_fit(prog, pyenv, tmp):
    with open(os.path.join(tmp, "strict.py"), "w") as f:
        f.write("import lpd\n"
                "class Strict:\n"
                "    def __init__(self, rounds):\n"
                "        pass\n"
                "lpd.node_main(Strict)\n")
    path = prog("strict", [
        {"group": "py", "type": "process", "command": ["python3",
                                                       "strict.py"],
         "config": {"rounds": 1, "bogus": 2}}])
    r = lpctl_run(path, pyenv)
    assert r.returncode == 1
    assert ('py/0: setup failed: TypeError: config ["bogus", "rounds"] '
            'does not fit Strict(): got an unexpected keyword argument '
            "'bogus'") in r.stdout + r.stderr


def test_not_started_by_lpd(pyenv):
    env = {k: v for k, v in pyenv.items() if not k.startswith("LP_")}
    r = run([sys.executable, os.path.join(HERE, "pynode.py")], env=env)
    assert r.returncode == 2
    assert r.stderr == ("Node: not started by lpd: LP_NODE is not set; run "
                        "it with `lpctl run PROGRAM.json`\n")
    env.update(LP_NODE="x/0", LP_PROGRAM="p", LP_RUN="yes")
    r = run([sys.executable, os.path.join(HERE, "pynode.py")], env=env)
    assert r.returncode == 2
    assert "LP_RUN is \"yes\": it must be 1" in r.stderr
    # Standard input is no listening socket: not the node's to take.
    env.update(LP_RUN="1", LP_ADDRESS="unix:/nowhere", LP_LISTEN_FD="0")
    r = run([sys.executable, os.path.join(HERE, "pynode.py")], env=env)
    assert r.returncode == 2
    assert r.stderr.startswith("Node: LP_LISTEN_FD is 0: not a listening "
                               "socket"), r.stderr
    env.update(LP_LISTEN_FD="77")
    r = run([sys.executable, os.path.join(HERE, "pynode.py")], env=env)
    assert r.returncode == 2
    assert r.stderr == ("Node: LP_LISTEN_FD is 77: no such open file "
                        "descriptor\n")


def test_serves_on_its_address_without_a_listening_fd(pyenv, tmp, procs):
    """Started by hand, with LP_ADDRESS only: it binds the address itself,
    serves, and SIGTERM ends it with status 0."""
    import lpd
    address = "unix:" + os.path.join(tmp, "n.sock")
    env = dict(pyenv, LP_NODE="solo/0", LP_PROGRAM="solo",
               LP_ADDRESS=address, LP_RUN="0")
    p = procs([sys.executable, os.path.join(HERE, "pynode.py")], env=env)
    with lpd.Client(address, timeout=WAIT) as c:
        assert c.ping() == "pong from solo/0"
        assert sorted(c.list_methods()) == ["chain", "echo", "kinds", "ping",
                                            "stop_program"]
    p.p.send_signal(signal.SIGTERM)
    assert p.wait() == 0, p.text()
    assert not os.path.exists(address[5:])


def test_output_is_live(prog, pyenv, procs):
    """A node's print() reaches the stream at once, not at its end."""
    path = prog("live", [
        {"group": "py", "type": "process", "command": PY,
         "config": {"say": "hello, live", "wait": True}}])
    p = procs([need_env("LPCTL"), "run", path], env=pyenv)
    until(lambda: "[py/0] hello, live\n" in p.stdout(), "the node's line")
    p.p.send_signal(signal.SIGTERM)
    assert p.wait() == 143, p.text()
    assert "py/0: exited with status 0" in p.stderr()
