// FIDO metadata in the web UI, in headless Chromium: a REVOKED status flips
// a credential's verdict.
//
// Makes a test metadata service with openssl (a root CA and a signing
// certificate for `mds.example`) and two BLOBs signed with ES256 by node's
// crypto: no 1 lists Chromium's virtual authenticator as FIDO_CERTIFIED_L1,
// no 2 adds a REVOKED status report. Starts `keybench serve --mds <no 1>`
// (pinned to the test root and signer), registers through the Register page
// with a DevTools virtual authenticator, and checks the Credentials page's
// model card says certified; then restarts the server on the same data
// directory with `--mds <no 2>` and checks that the same credential's card
// turns red ("untrusted") with the REVOKED reason. Writes a screenshot of
// each card (docs/screenshots/metadata-card*.png) unless
// KEYBENCH_SCREENSHOTS is "".
//
// Env: KEYBENCH_BIN (required), CHROMIUM (default /usr/bin/chromium),
// KEYBENCH_SCREENSHOTS (default <repo>/docs/screenshots; "" to skip).
// Exit status 0 when every check passed.

import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const BIN = process.env.KEYBENCH_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.KEYBENCH_SCREENSHOTS ?? path.join(repo, 'docs', 'screenshots');
// Chromium's virtual authenticator, and the all-zero AAGUID a browser puts
// in place of it when no attestation is asked for.
const AAGUIDS = ['01020304-0506-0708-0102-030405060708', '00000000-0000-0000-0000-000000000000'];

function log(msg) { console.log(`[mds] ${msg}`); }

/** A root CA and a signing certificate for mds.example (PEM), with keys. */
function testPki(dir) {
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key',
    '-out', 'root.pem', '-subj', '/CN=Keybench E2E MDS Root/O=Keybench test', '-days', '3650',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'signer.key',
    '-out', 'signer.csr', '-subj', '/CN=mds.example/O=Keybench test');
  fs.writeFileSync(path.join(dir, 'signer.ext'),
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=DNS:mds.example\n');
  ssl('x509', '-req', '-in', 'signer.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial',
    '-out', 'signer.pem', '-days', '3650', '-extfile', 'signer.ext');
  const der = (pem) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  return {
    root: path.join(dir, 'root.pem'),
    signerDer: der(fs.readFileSync(path.join(dir, 'signer.pem'), 'utf8')),
    signerKey: fs.readFileSync(path.join(dir, 'signer.key'), 'utf8'),
  };
}

/** A BLOB (compact JWS, ES256) listing the test models with `statuses`. */
function blob(pki, no, statuses) {
  const b64u = (b) => Buffer.from(b).toString('base64url');
  const header = { alg: 'ES256', typ: 'JWT', x5c: [pki.signerDer.toString('base64')] };
  const entries = AAGUIDS.map((aaguid) => ({
    aaguid,
    metadataStatement: {
      description: 'Chromium Virtual Authenticator (test metadata)',
      aaguid, protocolFamily: 'fido2', schema: 3, attestationTypes: ['basic_full'],
      attestationRootCertificates: [],
    },
    statusReports: statuses.map((status, i) => ({ status, effectiveDate: `2026-0${i + 1}-01` })),
  }));
  const payload = { legalHeader: 'Keybench test BLOB, not from the FIDO Alliance', no, nextUpdate: '2030-01-01', entries };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(payload))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: pki.signerKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64u(sig)}`;
}

function startServer(dataDir, args) {
  const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--no-keyring', '--data-dir', dataDir, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const url = new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('no URL within 60 s')), 60000);
    child.stdout.on('data', (chunk) => {
      buf += chunk.toString();
      const m = /open (http:\/\/\S+)/.exec(buf);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${stderr}`)); });
  });
  return { child, url };
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.on('exit', r));
  child.kill('SIGTERM');
  await done;
}

async function shot(page, locator, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await locator.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

async function modelCard(page, base) {
  await page.goto(`${base}#/credentials`);
  const card = page.locator('.model-card').first();
  await card.waitFor({ timeout: 30000 });
  return card;
}

async function main() {
  if (!BIN) throw new Error('set KEYBENCH_BIN to the keybench binary');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'keybench-mds-'));
  const pki = testPki(work);
  fs.writeFileSync(path.join(work, 'certified.jwt'), blob(pki, 1, ['FIDO_CERTIFIED_L1']));
  fs.writeFileSync(path.join(work, 'revoked.jwt'), blob(pki, 2, ['FIDO_CERTIFIED_L1', 'REVOKED']));
  const dataDir = path.join(work, 'data');
  const pin = ['--mds-root', pki.root, '--mds-signer', 'mds.example'];
  const baseOf = (printed) => {
    const u = new URL(printed);
    u.hostname = 'localhost';
    return `${u.origin}/`;
  };

  const browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--host-resolver-rules=MAP localhost 127.0.0.1'],
  });
  let server = startServer(dataDir, ['--mds', path.join(work, 'certified.jwt'), ...pin]);
  try {
    const context = await browser.newContext({ viewport: { width: 1024, height: 700 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'usb', hasResidentKey: true,
        hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });

    let base = baseOf(await server.url);
    await page.goto(`${base}#/register`);
    await page.click('#tab-simple');
    await page.fill('#pane-simple input[name=username]', 'mds-e2e');
    await page.click('#pane-simple button[type=submit]');
    await page.locator('#pane-simple .result .alert.success').waitFor({ timeout: 30000 });

    let card = await modelCard(page, base);
    assert.equal(await card.getAttribute('data-verdict'), 'certified', await card.innerText());
    assert.match(await card.innerText(), /FIDO CERTIFIED L1/);
    log('ok 1 - with BLOB no 1 the credential\'s model card says FIDO CERTIFIED L1');
    await shot(page, page.locator('section.card', { has: card }).first(), 'metadata-card');

    // The metadata changes (a newer BLOB with REVOKED): same data, same
    // session, same credential.
    await stop(server.child);
    server = startServer(dataDir, ['--mds', path.join(work, 'revoked.jwt'), ...pin]);
    base = baseOf(await server.url);
    card = await modelCard(page, base);
    assert.equal(await card.getAttribute('data-verdict'), 'untrusted', await card.innerText());
    const text = await card.innerText();
    assert.match(text, /untrusted/);
    assert.match(text, /REVOKED/);
    const red = await card.evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.notEqual(red, 'rgba(0, 0, 0, 0)', 'the untrusted card has a red background');
    log('ok 2 - with BLOB no 2 (REVOKED) the same credential\'s card turns red with the reason');
    await shot(page, page.locator('section.card', { has: card }).first(), 'metadata-card-revoked');
    assert.deepEqual(errors, [], 'no script errors');
    log('ok 3 - no script errors');
    log('all checks passed');
  } finally {
    await stop(server.child);
    await browser.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`[mds] FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
