#!/usr/bin/env python3
# `janus serve` as a process against hostile clients (issue 26), on loopback:
#  1. --api-key-file and JANUS_API_KEY: the key works and is not in /proc/<pid>/cmdline;
#  2. SIGTERM exits within --shutdown-timeout + 2 s while clients drip bytes, hold half-sent
#     requests, and stream an answer they never read.
# Usage: hostile_cli_test.py JANUS_BINARY MODEL_DIR. Every wait is bounded; exit 0 = pass.
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

janus, model = sys.argv[1], sys.argv[2]
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def start(extra, env=None):
    log = tempfile.TemporaryFile()
    p = subprocess.Popen([janus, "serve", "-m", model, "--port", "0", "--device", "cpu", "-t", "1",
                          "--dtype", "f32", "--no-request-log"] + extra,
                         stdout=subprocess.DEVNULL, stderr=log, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log.seek(0)
        m = re.search(rb"http://[^:]+:(\d+)/v1", log.read())
        if m:
            return p, int(m.group(1)), log
        if p.poll() is not None:
            break
        time.sleep(0.1)
    log.seek(0)
    p.kill()
    p.wait()
    raise SystemExit("server did not start: " + log.read().decode(errors="replace"))


def get(port, path, key=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    auth = "Authorization: Bearer %s\r\n" % key if key else ""
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n" % (path, auth)).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return int(data[9:12])


def stop(p, timeout=30):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


# 1. The API key from a file and from the environment.
with tempfile.NamedTemporaryFile("w", suffix=".key", delete=False) as f:
    f.write("  file-secret-123  \n")
    keyfile = f.name
p, port, _ = start(["--api-key-file", keyfile])
check(get(port, "/health") == 401, "--api-key-file: no key -> 401")
check(get(port, "/health", "file-secret-123") == 200, "--api-key-file: the file's key (trimmed) -> 200")
cmdline = open("/proc/%d/cmdline" % p.pid, "rb").read()
check(b"file-secret-123" not in cmdline, "--api-key-file: key not in the process list")
stop(p)
os.unlink(keyfile)

env = dict(os.environ, JANUS_API_KEY="env-secret-456")
p, port, _ = start([], env)
check(get(port, "/health") == 401, "JANUS_API_KEY: no key -> 401")
check(get(port, "/health", "env-secret-456") == 200, "JANUS_API_KEY: the key -> 200")
check(b"env-secret-456" not in open("/proc/%d/cmdline" % p.pid, "rb").read(), "JANUS_API_KEY: not in cmdline")
stop(p)

# 2. SIGTERM with hostile clients: exit within --shutdown-timeout (1 s) + 2 s.
p, port, log = start(["--shutdown-timeout", "1", "--max-tokens", "100000", "--ctx", "16384"])
stop_drip = threading.Event()
socks = []


def drip():  # one byte every 200 ms, forever
    s = socket.create_connection(("127.0.0.1", port))
    socks.append(s)
    req = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100000
    for i in range(len(req)):
        if stop_drip.is_set():
            return
        try:
            s.send(req[i:i + 1])
        except OSError:
            return
        time.sleep(0.2)


threading.Thread(target=drip, daemon=True).start()
half = socket.create_connection(("127.0.0.1", port))  # a half-sent body, then silence
half.sendall(b"POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"content")
socks.append(half)
for _ in range(3):  # long streams whose clients never read, with a tiny receive buffer
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    body = b'{"prompt": "go", "max_tokens": 100000, "ignore_eos": true, "stream": true}'
    s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    socks.append(s)
idle = socket.create_connection(("127.0.0.1", port))  # connected, never sends
socks.append(idle)
time.sleep(1.5)
t0 = time.monotonic()
p.send_signal(signal.SIGTERM)
try:
    rc = p.wait(15)
except subprocess.TimeoutExpired:
    rc = None
secs = time.monotonic() - t0
if rc is None:
    p.kill()
    p.wait()
check(rc == 0, "SIGTERM: exit code 0 (got %r)" % rc)
check(secs < 3.0, "SIGTERM: exited in %.2f s (limit: --shutdown-timeout 1 + 2 s)" % secs)
stop_drip.set()
for s in socks:
    s.close()
if failures:
    log.seek(0)
    print(log.read().decode(errors="replace")[-2000:])
    sys.exit(1)
