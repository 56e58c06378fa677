"""python-fido2's Fido2Server (an independent relying party) judges what
Keybench's WebAuthn client role returns.

Protocol on stdin/stdout, one JSON object per line, for each algorithm:
  -> {"publicKey": CreationOptionsJSON}      <- RegistrationResponseJSON
  -> {"registered": ...}
  -> {"publicKey": RequestOptionsJSON}       <- AuthenticationResponseJSON
  -> {"authenticated": ...}
Usage: python_fido2_rp.py ORIGIN_RP_ID
"""

import json
import sys

from fido2.server import Fido2Server
from fido2.webauthn import (
    AuthenticationResponse,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)


def send(obj):
    print(json.dumps(obj), flush=True)


def receive():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def main():
    rp_id = sys.argv[1]
    for alg in (-7, -8, -48, -49, -50):
        server = Fido2Server(PublicKeyCredentialRpEntity(id=rp_id, name="python-fido2 RP"))
        server.allowed_algorithms = [PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg)]
        user = PublicKeyCredentialUserEntity(id=f"user{alg}".encode(), name=f"user{alg}", display_name="User")
        options, state = server.register_begin(
            user,
            resident_key_requirement=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        send(dict(options))
        response = RegistrationResponse.from_dict(receive())
        auth_data = server.register_complete(state, response)
        credential = auth_data.credential_data
        send({"registered": True, "alg": alg, "public_key_alg": credential.public_key[3], "uv": auth_data.is_user_verified()})

        options, state = server.authenticate_begin([credential], user_verification=UserVerificationRequirement.REQUIRED)
        send(dict(options))
        response = AuthenticationResponse.from_dict(receive())
        server.authenticate_complete(state, [credential], response)
        send({"authenticated": True, "alg": alg, "counter": response.response.authenticator_data.counter, "uv": response.response.authenticator_data.is_user_verified()})


if __name__ == "__main__":
    main()
