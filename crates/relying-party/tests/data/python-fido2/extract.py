"""Extracts the attestation samples of python-fido2's tests/test_attestation.py
(vendored verbatim beside this script) into samples.json: for each test, the
literal `statement` (attStmt), `auth_data` and `client_param` (clientDataHash),
or for the ML-DSA-87 test the CTAP2 makeCredential response `resp` and
`client_data_hash`. Only literal assignments are evaluated; nothing is imported.

    python3 extract.py > samples.json
"""
import ast, json, pathlib

src = pathlib.Path(__file__).with_name("test_attestation.py").read_text()
tree = ast.parse(src)
WANTED = {"statement", "auth_data", "client_param", "client_data_hash", "resp"}
env = {"bytes": bytes, "AuthenticatorData": lambda b: b}

def enc(v):
    if isinstance(v, bytes):
        return {"hex": v.hex()}
    if isinstance(v, dict):
        return {k: enc(x) for k, x in v.items()}
    if isinstance(v, list):
        return [enc(x) for x in v]
    return v

out = {}
for node in ast.walk(tree):
    if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
        values = {}
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                t = stmt.targets[0]
                if isinstance(t, ast.Name) and t.id in WANTED and t.id not in values:
                    values[t.id] = eval(compile(ast.Expression(stmt.value), "x", "eval"), env)
        if values:
            out[node.name] = {k: enc(v) for k, v in values.items()}
print(json.dumps(out, indent=1, sort_keys=True))
