"""python-fido2 as another relying party and its client: Fido2Server writes
the options (python-fido2's own JSON form, `{"publicKey": …}`), Fido2Client
answers them with the Keybench virtual key over UDP, and each options /
response pair is printed as one JSON line for `keybench verify`'s core to
check, for several algorithms and with extensions asked for.

Usage: python_fido2_for_verify.py HOST PORT
"""

import json
import socket
import sys

from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor
from fido2.server import Fido2Server
from fido2.webauthn import (
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
)


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
    host, port = sys.argv[1], int(sys.argv[2])
    descriptor = HidDescriptor(f"udp:{host}:{port}", 0x1209, 0x000F, 64, 64, "Keybench virtual key", None)
    device = CtapHidDevice(descriptor, UdpConnection(host, port))
    origin = "https://example.com"
    client = Fido2Client(device, DefaultClientDataCollector(origin), UserInteraction())
    server = Fido2Server(PublicKeyCredentialRpEntity(id="example.com", name="Example"), attestation="direct")
    for alg in (-7, -8, -49):
        server.allowed_algorithms = [PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg)]
        user = PublicKeyCredentialUserEntity(id=f"user{-alg}".encode(), name=f"user{-alg}", display_name="User")
        creation, _ = server.register_begin(
            user,
            user_verification="discouraged",
            extensions={"credProps": True, "credentialProtectionPolicy": "userVerificationOptionalWithCredentialIDList"},
        )
        registration = client.make_credential(creation.public_key)
        credential = registration.response.attestation_object.auth_data.credential_data
        request, _ = server.authenticate_begin([credential], user_verification="discouraged")
        assertion = client.get_assertion(request.public_key).get_response(0)
        print(json.dumps({
            "alg": alg,
            "origin": origin,
            "creation": dict(creation),
            "registration": dict(registration),
            "request": dict(request),
            "assertion": dict(assertion),
        }), flush=True)


if __name__ == "__main__":
    main()
