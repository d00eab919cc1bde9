#!/bin/sh
# lpd under systemd's protocols, played by python3: READY=1 and STOPPING=1
# through NOTIFY_SOCKET (an abstract name, as systemd gives), and socket
# activation (LISTEN_PID, LISTEN_FDS, the socket as fd 3).
. "$(dirname "$0")/lib.sh"

python3 - "$LPD" "$LPCTL" "$tmp" >"$tmp/py.out" 2>&1 <<'PY' || fail "systemd protocols: $(cat "$tmp/py.out")"
import os, signal, socket, subprocess, sys
lpd, lpctl, tmp = sys.argv[1:4]
path = os.path.join(tmp, "activated.sock")

notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
name = "lpd-test-notify-%d" % os.getpid()
notify.bind("\0" + name)
notify.settimeout(10)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
listener.listen(16)

pid = os.fork()
if pid == 0:
    os.dup2(listener.fileno(), 3)
    os.set_inheritable(3, True)
    env = dict(os.environ, NOTIFY_SOCKET="@" + name,
               LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
    os.execve(lpd, [lpd, "--foreground", "--state-dir",
                    os.path.join(tmp, "st")], env)
listener.close()

msg = notify.recv(4096).decode()
assert "READY=1" in msg, msg
assert "MAINPID=%d" % pid in msg, msg
r = subprocess.run([lpctl, "--socket", path, "status"], capture_output=True,
                   text=True, timeout=20)
assert r.returncode == 0 and "no programs" in r.stdout, (r.returncode,
                                                         r.stdout, r.stderr)
os.kill(pid, signal.SIGTERM)
msg = notify.recv(4096).decode()
assert "STOPPING=1" in msg, msg
_, status = os.waitpid(pid, 0)
assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
print("ok")
PY
expect "$tmp/py.out" '^ok$'
ok "READY=1, STOPPING=1 and socket activation"
