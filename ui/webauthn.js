// The browser side of the ceremonies: options JSON → navigator.credentials
// (with the browser's own parse*FromJSON when it has them, otherwise our
// base64url conversion), the credential back to the L3 JSON form
// (`toJSON()` or the same shape by hand), and DOMExceptions explained.

export function b64urlToBytes(s) {
  const b64 = String(s).replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function bytesToB64url(buf) {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Whether this window can run WebAuthn ceremonies at all. */
export function webauthnAvailable() {
  return typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
}

const clone = (o) => JSON.parse(JSON.stringify(o));

// Extension inputs that carry binary values in their JSON form.
function extensionsFromJSON(ext) {
  if (!ext) return ext;
  const e = clone(ext);
  const bin = (v) => (typeof v === 'string' ? b64urlToBytes(v) : v);
  if (e.prf) {
    if (e.prf.eval) {
      e.prf.eval.first = bin(e.prf.eval.first);
      if (e.prf.eval.second !== undefined) e.prf.eval.second = bin(e.prf.eval.second);
    }
    if (e.prf.evalByCredential) {
      for (const k of Object.keys(e.prf.evalByCredential)) {
        const v = e.prf.evalByCredential[k];
        v.first = bin(v.first);
        if (v.second !== undefined) v.second = bin(v.second);
      }
    }
  }
  if (e.largeBlob && e.largeBlob.write) e.largeBlob.write = bin(e.largeBlob.write);
  if (e.credBlob) e.credBlob = bin(e.credBlob);
  return e;
}

const descriptors = (list) => (list || []).map((d) => ({ ...d, id: b64urlToBytes(d.id) }));

/** PublicKeyCredentialCreationOptionsJSON → options for credentials.create(). */
export function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  const o = clone(json);
  o.challenge = b64urlToBytes(o.challenge);
  o.user = { ...o.user, id: b64urlToBytes(o.user.id) };
  if (o.excludeCredentials) o.excludeCredentials = descriptors(o.excludeCredentials);
  if (o.extensions) o.extensions = extensionsFromJSON(o.extensions);
  return o;
}

/** PublicKeyCredentialRequestOptionsJSON → options for credentials.get(). */
export function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  const o = clone(json);
  o.challenge = b64urlToBytes(o.challenge);
  if (o.allowCredentials) o.allowCredentials = descriptors(o.allowCredentials);
  if (o.extensions) o.extensions = extensionsFromJSON(o.extensions);
  return o;
}

function extensionResultsToJSON(results) {
  const walk = (v) => {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return bytesToB64url(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(results || {});
}

/** The credential in the WebAuthn L3 JSON form the complete endpoints take. */
export function credentialToJSON(cred) {
  if (typeof cred.toJSON === 'function') return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: bytesToB64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = bytesToB64url(r.attestationObject);
    if (r.getAuthenticatorData) response.authenticatorData = bytesToB64url(r.getAuthenticatorData());
    if (r.getTransports) response.transports = r.getTransports();
    if (r.getPublicKeyAlgorithm) response.publicKeyAlgorithm = r.getPublicKeyAlgorithm();
    const pk = r.getPublicKey ? r.getPublicKey() : null;
    if (pk) response.publicKey = bytesToB64url(pk);
  } else {
    response.authenticatorData = bytesToB64url(r.authenticatorData);
    response.signature = bytesToB64url(r.signature);
    if (r.userHandle) response.userHandle = bytesToB64url(r.userHandle);
  }
  const out = {
    id: cred.id,
    rawId: bytesToB64url(cred.rawId),
    response,
    clientExtensionResults: extensionResultsToJSON(cred.getClientExtensionResults()),
    type: cred.type,
  };
  if (cred.authenticatorAttachment !== undefined) out.authenticatorAttachment = cred.authenticatorAttachment;
  return out;
}

/** Runs navigator.credentials.create with the options JSON; returns the JSON form. */
export async function create(optionsJSON, signal) {
  requireWebAuthn();
  try {
    const cred = await navigator.credentials.create({ publicKey: creationOptions(optionsJSON), signal });
    if (!cred) throw new Error('The browser returned no credential.');
    return credentialToJSON(cred);
  } catch (e) { throw explain(e, 'registration'); }
}

/** Runs navigator.credentials.get with the options JSON; returns the JSON form. */
export async function get(optionsJSON, signal) {
  requireWebAuthn();
  try {
    const cred = await navigator.credentials.get({ publicKey: requestOptions(optionsJSON), signal });
    if (!cred) throw new Error('The browser returned no credential.');
    return credentialToJSON(cred);
  } catch (e) { throw explain(e, 'authentication'); }
}

function requireWebAuthn() {
  if (!webauthnAvailable()) {
    const e = new Error(window.isSecureContext
      ? 'This browser has no WebAuthn support (PublicKeyCredential is missing).'
      : 'WebAuthn needs a secure context: open Keybench at http://localhost:PORT or over https, not a plain-HTTP IP or host name.');
    e.title = 'WebAuthn is not available here';
    throw e;
  }
}

const isIpHost = () => /^\d+\.\d+\.\d+\.\d+$|^\[.*\]$/.test(location.hostname);

/** A localhost URL for this page (IP addresses cannot be WebAuthn RP IDs). */
export function localhostUrl() {
  return `${location.protocol}//localhost${location.port ? `:${location.port}` : ''}${location.pathname}`;
}

/** A browser DOMException turned into a titled error with a hint. */
export function explain(e, ceremony) {
  if (!(e instanceof DOMException) && !(e instanceof TypeError)) return e;
  const out = new Error(`${e.name}: ${e.message}`);
  out.code = e.name;
  out.title = `The browser stopped the ${ceremony}`;
  switch (e.name) {
    case 'NotAllowedError':
      out.hint = 'The ceremony was cancelled, timed out, or no authenticator agreed to it (no matching credential, user presence or verification refused). Try again and touch or approve on your key.';
      break;
    case 'InvalidStateError':
      out.hint = ceremony === 'registration'
        ? 'This authenticator already holds a credential for this account (it is in excludeCredentials). Use another key or sign in instead.'
        : 'The authenticator is in a state that does not allow this request.';
      break;
    case 'SecurityError':
      out.hint = isIpHost()
        ? `WebAuthn does not accept an IP address as relying-party ID. Open ${localhostUrl()} instead.`
        : 'The relying-party ID in the options does not match this page\'s origin (or the page is not a secure context).';
      break;
    case 'NotSupportedError':
      out.hint = 'No available authenticator supports the requested options (for example none of the algorithms in pubKeyCredParams, or a resident key it cannot store).';
      break;
    case 'ConstraintError':
      out.hint = 'The options require something the authenticator cannot do (for example user verification without a PIN or biometric set up).';
      break;
    case 'AbortError':
      out.hint = 'The ceremony was aborted before it finished.';
      break;
    case 'TypeError':
      out.hint = 'The options JSON is not a valid WebAuthn options object (check member names and base64url values).';
      break;
    default:
      out.hint = 'See the browser console for details.';
  }
  return out;
}

/** The COSE algorithms the UI offers (ML-DSA first, as Keybench's focus). */
export const ALGORITHMS = [
  [-50, 'ML-DSA-87'], [-49, 'ML-DSA-65'], [-48, 'ML-DSA-44'],
  [-8, 'EdDSA'], [-19, 'Ed25519'], [-7, 'ES256'], [-35, 'ES384'], [-36, 'ES512'],
  [-257, 'RS256'], [-258, 'RS384'], [-259, 'RS512'], [-37, 'PS256'],
];
export const algName = (a) => (ALGORITHMS.find(([v]) => v === a) || [a, `COSE ${a}`])[1];
