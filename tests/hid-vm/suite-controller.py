"""The stand-in for the hardware controller of python-fido2's device test suite.

python-fido2's `tests/device` drives a real key's power and touch through a
small HTTP controller (`--controller URL --pico-port N`, class PicoController
in tests/device/__init__.py): GET /usbN/power/on|off and /usbN/touch/on|off.
This is that controller for the Keybench virtual key inside the HID VM:

- power off: the `keybench virtual-key serve --uhid` process is stopped, so
  its /dev/hidraw node disappears, as when a key is pulled out;
- power on: the same command is started again with the same state file, so
  the key comes back with its credentials, PIN and settings and a fresh
  power-up (new key agreement key, no token, reset allowed for 10 s); the
  answer comes as soon as it runs, and the suite waits for the node;
- touch on|off: acknowledged only. The key's presence policy (approve) is
  its finger: every request for presence is answered at once, and so is
  every fingerprint sample and match of its sensor (--fingerprint).

Usage: suite-controller.py HOST:PORT USB_PORT LOG_DIR -- COMMAND...
It powers the key on, prints "controller: ready URL" and serves until killed.
"""

import http.server
import os
import signal
import subprocess
import sys
import threading
import time

NODE_TIMEOUT_S = 15.0


def hidraw_nodes():
    try:
        return {n for n in os.listdir("/dev") if n.startswith("hidraw")}
    except OSError:
        return set()


def log(message):
    print(f"controller: {time.monotonic():.2f} {message}", file=sys.stderr, flush=True)


class Key:
    """One virtual key whose process is its power."""

    def __init__(self, command, log_dir):
        self.command = command
        self.log_dir = log_dir
        self.process = None
        self.before = set()
        self.power_ups = 0
        self.lock = threading.Lock()

    def on(self):
        # Answered once the process runs: the suite then waits for the
        # hidraw node itself, as it does for a real key enumerating.
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                return "already on"
            self.before = hidraw_nodes()
            self.power_ups += 1
            out = open(os.path.join(self.log_dir, f"virtual-key-{self.power_ups}.log"), "wb")
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT)
            out.close()
            return f"on: power-up {self.power_ups}, pid {self.process.pid}"

    def wait_for_node(self):
        deadline = time.monotonic() + NODE_TIMEOUT_S
        while time.monotonic() < deadline:
            added = hidraw_nodes() - self.before
            if added:
                return f"/dev/{added.pop()} is up"
            if self.process.poll() is not None:
                raise RuntimeError(f"the key exited with {self.process.returncode}")
            time.sleep(0.02)
        raise RuntimeError("no hidraw node appeared")

    def off(self):
        # Answered once the key's hidraw node is gone, as the suite expects
        # of a port switched off.
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                return "already off"
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            # The kernel removes the node when the uhid file is closed.
            deadline = time.monotonic() + NODE_TIMEOUT_S
            while hidraw_nodes() - self.before:
                if time.monotonic() > deadline:
                    raise RuntimeError("the hidraw node stayed after the key stopped")
                time.sleep(0.02)
            return f"off: power-up {self.power_ups} ended, its hidraw node gone"


def handler_for(key, usb_port):
    prefix = f"/usb{usb_port}/"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            path = self.path
            try:
                if path == "/":
                    answer = "keybench suite controller"
                elif path == prefix + "power/on":
                    answer = key.on()
                elif path == prefix + "power/off":
                    answer = key.off()
                elif path in (prefix + "touch/on", prefix + "touch/off"):
                    answer = "touch acknowledged (the key's presence policy answers)"
                else:
                    self.send_error(404, f"no such control: {path}")
                    log(f"GET {path} -> 404")
                    return
            except Exception as e:  # answered as a 500, and logged
                self.send_error(500, str(e))
                log(f"GET {path} -> 500 {e}")
                return
            log(f"GET {path} -> {answer}")
            body = answer.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    return Handler


def main(argv):
    if len(argv) < 5 or argv[3] != "--":
        sys.exit(__doc__)
    host, port = argv[0].rsplit(":", 1)
    usb_port, log_dir, command = argv[1], argv[2], argv[4:]
    key = Key(command, log_dir)
    server = http.server.ThreadingHTTPServer((host, int(port)), handler_for(key, usb_port))
    log(key.on())
    log(key.wait_for_node())

    def stop(*_):
        log(key.off())
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(f"controller: ready http://{host}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
