"""python-fido2's Fido2Client (an independent WebAuthn client) registers and
authenticates against Keybench's relying party over HTTP, with the Keybench
virtual key on UDP as its authenticator: every algorithm the key offers.

Usage: python_fido2_client_to_server.py BASE_URL KEY_HOST KEY_PORT
Prints one JSON line per algorithm with what the server answered.
"""

import http.cookiejar
import json
import socket
import sys
import urllib.request

from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor
from fido2.webauthn import PublicKeyCredentialCreationOptions, PublicKeyCredentialRequestOptions


class UdpConnection(CtapHidConnection):
    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect((host, port))
        self.sock.settimeout(10)

    def write_packet(self, data):
        self.sock.send(data[1:] if len(data) == 65 else data)

    def read_packet(self):
        return self.sock.recv(64)

    def close(self):
        self.sock.close()


def main():
    base, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    descriptor = HidDescriptor(f"udp:{host}:{port}", 0x1209, 0x000F, 64, 64, "Keybench virtual key", None)
    device = CtapHidDevice(descriptor, UdpConnection(host, port))
    client = Fido2Client(device, DefaultClientDataCollector(base), UserInteraction())
    for alg in (-7, -8, -48, -49, -50):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def post(path, body):
            req = urllib.request.Request(
                base + path,
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Origin": base},
                method="POST",
            )
            try:
                with opener.open(req) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read() or b"null")

        user = f"py{-alg}"
        status, begin = post("/api/advanced/register/begin", {"username": user, "algorithms": [alg], "userVerification": "discouraged", "residentKey": "required"})
        assert status == 200, begin
        options = PublicKeyCredentialCreationOptions.from_dict(begin["publicKey"])
        registration = client.make_credential(options)
        status, registered = post("/api/register/complete", dict(registration))
        assert status == 200, registered
        status, begin = post("/api/advanced/authenticate/begin", {"username": user, "userVerification": "discouraged"})
        assert status == 200, begin
        options = PublicKeyCredentialRequestOptions.from_dict(begin["publicKey"])
        assertion = client.get_assertion(options).get_response(0)
        status, authenticated = post("/api/authenticate/complete", dict(assertion))
        print(json.dumps({
            "alg": alg,
            "registered": registered["credential"]["algorithm"],
            "fmt": registered["credential"]["attestation"]["format"],
            "authenticated": status == 200 and authenticated.get("status") == "ok",
            "signCount": authenticated.get("signCount"),
            "username": authenticated.get("username"),
        }), flush=True)


if __name__ == "__main__":
    main()
