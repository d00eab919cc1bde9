"""Programs that mix C and Python nodes, run by `lpctl run`: the examples
in examples/python, and the C consumer of examples/consumer_producers
with Python producers and the other way round."""
import os
import re

import pytest

from conftest import need_env, program, run


def examples():
    return need_env("EXAMPLES")


def lpctl_run(path, env):
    r = run([need_env("LPCTL"), "run", path], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def rounds(out, node):
    return re.findall(r"^\[%s\] (round .*)$" % re.escape(node), out, re.M)


def test_python_consumer_producers(pyenv):
    r = lpctl_run(os.path.join(examples(), "python",
                               "consumer_producers.json"), pyenv)
    assert rounds(r.stdout, "consumer/0") == [
        "round 0: results [0,1,2,3], sum 6",
        "round 1: results [4,5,6,7], sum 22",
        "round 2: results [8,9,10,11], sum 38"]
    assert "stopping the program: consumer/0 asked" in r.stderr


def test_mixed_example(pyenv):
    """A Python consumer calls C producers, and the C consumer's round,
    which calls Python producers."""
    r = lpctl_run(os.path.join(examples(), "python", "mixed.json"), pyenv)
    assert rounds(r.stdout, "py_consumer/0") == [
        "round 0: results [0,1], sum 1",
        "round 0: through the relay: results [0,1], sum 1",
        "round 1: results [2,3], sum 5",
        "round 1: through the relay: results [2,3], sum 5"]
    for n in ("py_producer/0", "py_producer/1", "c_producer/0",
              "c_producer/1", "c_consumer/0", "py_consumer/0"):
        assert "%s: exited with status 0" % n in r.stderr, r.stderr


@pytest.mark.parametrize("consumer,producer", [("c", "python"),
                                               ("python", "c")])
def test_consumer_producers_across(tmp, pyenv, consumer, producer):
    c_dir = os.path.join(examples(), "consumer_producers")
    py_dir = os.path.join(examples(), "python")
    cmd = {
        "c": lambda node: [os.path.join(c_dir, node)],
        "python": lambda node: ["python3", os.path.join(py_dir,
                                                         node + ".py")],
    }
    path = program(os.path.join(tmp, "across.json"), {
        "program": "across",
        "nodes": [
            {"group": "producer", "type": "courier", "replicas": 4,
             "command": cmd[producer]("producer")},
            {"group": "consumer", "type": "courier",
             "command": cmd[consumer]("consumer"),
             "config": {"producers": {"$handles": "producer"},
                        "rounds": 2}}]})
    r = lpctl_run(path, pyenv)
    assert rounds(r.stdout, "consumer/0") == [
        "round 0: results [0,1,2,3], sum 6",
        "round 1: results [4,5,6,7], sum 22"]
    assert "stopping the program: consumer/0 asked" in r.stderr
