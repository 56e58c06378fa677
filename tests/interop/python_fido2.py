"""python-fido2 (an independent CTAP client and relying party) drives the
Keybench virtual key over UDP: one datagram carries one 64-byte CTAPHID report.

python-fido2's own CTAPHID layer (CtapHidDevice) talks to the key; its
Fido2Client makes and gets credentials; its Fido2Server verifies them; its
PackedAttestation verifies the self-attestation signatures.

Usage: python_fido2.py HOST PORT   (prints one JSON line per algorithm)
       python_fido2.py /dev/hidrawN   (the same over a real HID device)
"""

import json
import socket
import sys

from fido2.attestation import PackedAttestation
from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap2 import Ctap2
from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor
from fido2.server import Fido2Server
from fido2.webauthn import (
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    UserVerificationRequirement,
)


class UdpConnection(CtapHidConnection):
    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect((host, port))
        self.sock.settimeout(10)

    def write_packet(self, data):
        # python-fido2 writes the report id 0 followed by 64 bytes, as hidraw wants.
        packet = data[1:] if len(data) == 65 else data
        self.sock.send(packet)

    def read_packet(self):
        return self.sock.recv(64)

    def close(self):
        self.sock.close()


def open_device():
    if len(sys.argv) == 2:
        from fido2.hid.linux import get_descriptor, open_connection

        descriptor = get_descriptor(sys.argv[1])
        return CtapHidDevice(descriptor, open_connection(descriptor))
    host, port = sys.argv[1], int(sys.argv[2])
    descriptor = HidDescriptor(f"udp:{host}:{port}", 0x1209, 0x000F, 64, 64, "Keybench virtual key", None)
    return CtapHidDevice(descriptor, UdpConnection(host, port))


def main():
    device = open_device()
    info = Ctap2(device).get_info()
    print(json.dumps({"getInfo": {"versions": info.versions, "algorithms": [a["alg"] for a in info.algorithms], "max_msg_size": info.max_msg_size}}), flush=True)

    rp = PublicKeyCredentialRpEntity(id="example.org", name="Example")
    client = Fido2Client(device, DefaultClientDataCollector("https://example.org"), UserInteraction())
    for alg in (-7, -8, -48, -49, -50):
        server = Fido2Server(rp)
        server.allowed_algorithms = [PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg)]
        user = PublicKeyCredentialUserEntity(id=f"user{alg}".encode(), name="alice", display_name="Alice")
        # No PIN is set: python-fido2 refuses "preferred" UV on a key that
        # offers clientPin but has none, as a browser would ask to set one.
        options, state = server.register_begin(user, user_verification=UserVerificationRequirement.DISCOURAGED)
        registration = client.make_credential(options.public_key)
        auth_data = server.register_complete(state, registration)
        credential = auth_data.credential_data

        att = registration.response.attestation_object
        client_data_hash = registration.response.client_data.hash
        PackedAttestation().verify(att.att_stmt, att.auth_data, client_data_hash)

        options, state = server.authenticate_begin([credential], user_verification=UserVerificationRequirement.DISCOURAGED)
        assertion = client.get_assertion(options.public_key).get_response(0)
        server.authenticate_complete(state, [credential], assertion)
        print(json.dumps({
            "alg": alg,
            "fmt": att.fmt,
            "public_key_alg": credential.public_key[3],
            "registration_bytes": len(bytes(att)),
            "sign_count": assertion.response.authenticator_data.counter,
            "verified": True,
        }), flush=True)


if __name__ == "__main__":
    main()
