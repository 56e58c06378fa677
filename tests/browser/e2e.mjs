// Browser end-to-end test of the Keybench web UI.
//
// Starts `keybench serve --listen 127.0.0.1:0` (binary from KEYBENCH_BIN),
// opens the URL it prints (with its #launch= fragment) in headless Debian
// Chromium driven by playwright-core, gives the page a DevTools WebAuthn
// virtual authenticator (CTAP2, resident keys, user verification), registers
// and authenticates through the real pages, compares the cookie the browser
// really stored with the dashboard's cookie table for the current context,
// checks the live dashboard (pushed challenge, ticking countdown, cleanup
// "run now"), and writes a 1024x700 screenshot of each main page into
// docs/screenshots/.
//
// Env: KEYBENCH_BIN (required), CHROMIUM (default /usr/bin/chromium),
// KEYBENCH_SCREENSHOTS (default <repo>/docs/screenshots; "" to skip),
// KEYBENCH_E2E_HOST (host to open; default: localhost when the server prints
// an IP, since browsers refuse IP addresses as WebAuthn RP IDs).
// Exit status 0 when every check passed.

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const BIN = process.env.KEYBENCH_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.KEYBENCH_SCREENSHOTS ?? path.join(repo, 'docs', 'screenshots');
const VIEWPORT = { width: 1024, height: 700 };

let step = 0;
const results = [];
function log(msg) { console.log(`[e2e] ${msg}`); }
async function check(name, fn) {
  step += 1;
  const t0 = Date.now();
  try {
    const note = await fn();
    results.push({ name, ok: true });
    log(`ok ${step} - ${name}${note ? ` (${note})` : ''} [${Date.now() - t0} ms]`);
    return note;
  } catch (e) {
    results.push({ name, ok: false });
    log(`FAIL ${step} - ${name}: ${e && e.stack ? e.stack : e}`);
    throw e;
  }
}

// ---- the server ---------------------------------------------------------------

function startServer() {
  if (!BIN) throw new Error('set KEYBENCH_BIN to the keybench binary (e.g. target/debug/keybench)');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keybench-e2e-'));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'keybench-e2e-home-'));
  const args = ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir];
  log(`starting ${BIN} ${args.join(' ')}`);
  const env = { ...process.env, HOME: home, RUST_LOG: process.env.RUST_LOG || 'info' };
  const child = spawn(BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logFile = path.join(dataDir, 'server.log');
  const logStream = fs.createWriteStream(logFile);
  child.stderr.pipe(logStream);
  const url = new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no URL on stdout within 60 s (log: ${logFile})`)), 60000);
    child.stdout.on('data', (chunk) => {
      logStream.write(chunk);
      buf += chunk.toString();
      for (const line of buf.split('\n')) {
        const m = /(https?:\/\/\S+)/.exec(line);
        if (m && line.includes('http://')) { clearTimeout(timer); resolve(m[1]); return; }
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code} before printing a URL (log: ${logFile})`)); });
  });
  return { child, url, dataDir, logFile };
}

async function stopServer(child) {
  if (child.exitCode !== null) return child.exitCode;
  const done = new Promise((r) => child.on('exit', (code, sig) => r(code ?? sig)));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 10000);
  const status = await done;
  clearTimeout(t);
  return status;
}

// ---- helpers -----------------------------------------------------------------

async function shot(page, name) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

async function go(page, base, route) {
  // A fresh page each time: going to the URL already shown would only be a
  // fragment navigation and keep the previous step's state.
  if (page.url() === `${base}#/${route}`) await page.reload();
  else await page.goto(`${base}#/${route}`);
  await page.locator('main h1').first().waitFor();
}

async function noHorizontalScroll(page, route) {
  const [sw, w] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(sw <= w, `${route}: the page scrolls sideways (${sw} > ${w})`);
  await accessibleNames(page, route);
}

// Every visible control has an accessible name (a label, aria-label or text).
async function accessibleNames(page, route) {
  const nameless = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button, a[href]')]
    .filter((el) => el.offsetParent !== null)
    .filter((el) => {
      const text = (el.getAttribute('aria-label') || el.textContent || '').trim();
      const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-labelledby') || el.title;
      return ['INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName) ? !labelled && !el.closest('label') : !text;
    })
    .map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(nameless, [], `${route}: controls without an accessible name`);
}

async function successText(page, pane = '#pane-simple') {
  const ok = page.locator(`${pane} .result .alert.success`);
  const err = page.locator(`${pane} .alert.error`);
  await Promise.race([ok.waitFor({ timeout: 30000 }), err.waitFor({ timeout: 30000 })]);
  if (await err.count()) throw new Error(`the page shows an error: ${await err.innerText()}`);
  return ok.innerText();
}

// ---- the test ---------------------------------------------------------------

async function main() {
  const server = startServer();
  let browser;
  let failed = false;
  const notes = {};
  try {
    const printed = await server.url;
    log(`server printed ${printed.replace(/#launch=.*/, '#launch=<secret>')}`);
    const u = new URL(printed);
    assert.match(u.hash, /^#launch=./, 'the printed URL carries the launch secret in its fragment');
    const secret = decodeURIComponent(u.hash.slice('#launch='.length).split('&')[0]);
    const printedHost = u.hostname;
    const host = process.env.KEYBENCH_E2E_HOST || (/^[\d.]+$|^\[/.test(printedHost) ? 'localhost' : printedHost);
    if (host !== printedHost) log(`opening ${host} instead of ${printedHost}: browsers refuse IP addresses as WebAuthn RP IDs`);
    u.hostname = host;
    const base = `${u.origin}/`;
    const launchUrl = u.toString();

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP localhost 127.0.0.1'],
    });
    log(`chromium ${browser.version()}`);
    const context = await browser.newContext({ viewport: VIEWPORT });
    const page = await context.newPage();
    const consoleErrors = [];
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`console: ${m.text()}`); });

    // DevTools WebAuthn: a CTAP2 security key with resident keys and UV.
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2', ctap2Version: 'ctap2_1', transport: 'usb',
        hasResidentKey: true, hasUserVerification: true, isUserVerified: true,
        automaticPresenceSimulation: true, hasCredBlob: true, hasMinPinLength: true, hasPrf: true, hasLargeBlob: true,
      },
    });

    await check('the launch fragment moves into sessionStorage and leaves the address bar', async () => {
      await page.goto(launchUrl);
      await page.locator('main h1').first().waitFor();
      assert.ok(!page.url().includes('launch='), `address bar still holds the secret: ${page.url().replace(secret, '<secret>')}`);
      const stored = await page.evaluate(() => sessionStorage.getItem('keybench.launchSecret'));
      assert.equal(stored, secret);
    });

    const user = `alice-${Date.now().toString(36)}`;
    await check('register through the simple Register page', async () => {
      await go(page, base, 'register');
      await page.click('#tab-simple');
      await page.fill('#pane-simple input[name=username]', user);
      await page.fill('#pane-simple input[name=displayName]', 'Alice E2E');
      await page.click('#pane-simple button[type=submit]');
      const text = await successText(page);
      assert.match(text, new RegExp(`Registered ${user}`));
      // The verdict says whether an enterprise attestation was given (the
      // simple page asks for "direct").
      assert.match(text, /Enterprise attestation\s*no\s*not asked for/);
      await page.locator('#who', { hasText: user }).waitFor();
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1, 'one credential on the virtual authenticator');
      assert.ok(credentials[0].isResidentCredential, 'resident credential');
      return text.match(/Algorithm\s*(\S+)/)?.[1];
    });
    await noHorizontalScroll(page, 'register');
    await shot(page, 'register');

    await check('sign out from the header', async () => {
      await page.click('#who button');
      await page.locator('#who', { hasText: 'Not signed in' }).waitFor();
    });

    await check('a server error is shown with its code and message (unknown member in a hand-edited request)', async () => {
      await go(page, base, 'register');
      await page.click('#tab-advanced');
      await page.fill('#pane-advanced textarea >> nth=0', JSON.stringify({ username: `${user}-x`, bogusOption: true }));
      await page.click('#pane-advanced button:text-is("Get options")');
      const err = page.locator('#pane-advanced .alert.error');
      await err.waitFor({ timeout: 15000 });
      const text = await err.innerText();
      assert.match(text, /The server answered 4\d\d/);
      assert.ok(await err.locator('code').count(), 'the error code is shown');
      return text.replace(/\s+/g, ' ').slice(0, 200);
    });

    await check('authenticate with a discoverable credential (no username)', async () => {
      await go(page, base, 'authenticate');
      await page.click('#tab-simple');
      await page.fill('#pane-simple input[name=username]', '');
      await page.click('#pane-simple button[type=submit]');
      const text = await successText(page);
      assert.match(text, new RegExp(`Signed in as ${user}`));
      await page.locator('#who', { hasText: user }).waitFor();
    });
    await noHorizontalScroll(page, 'authenticate');
    await shot(page, 'authenticate');

    await check('authenticate with a username through the advanced page', async () => {
      await go(page, base, 'authenticate');
      await page.click('#tab-advanced');
      await page.fill('#pane-advanced input[name=username]', user);
      await page.click('#pane-advanced button:has-text("Get options and sign in")');
      const text = await successText(page, '#pane-advanced');
      assert.match(text, new RegExp(`Signed in as ${user}`));
      const opts = JSON.parse(await page.locator('#pane-advanced textarea').nth(1).inputValue());
      assert.ok(Array.isArray(opts.allowCredentials) && opts.allowCredentials.length === 1, 'allowCredentials lists the credential');
    });

    notes.mldsa = await check('ML-DSA with Chromium\'s virtual authenticator (advanced register, ML-DSA-65 only)', async () => {
      await go(page, base, 'register');
      await page.click('#tab-advanced');
      await page.fill('#pane-advanced input[name=username]', `${user}-pq`);
      for (const box of await page.locator('#pane-advanced fieldset').first().locator('input[type=checkbox]').all()) {
        const v = await box.getAttribute('value');
        if ((v === '-49') !== (await box.isChecked())) await box.click();
      }
      // Chromium answers an algorithm it lacks with NotAllowedError only at the timeout.
      await page.fill('#pane-advanced input[name=timeout]', '10000');
      await page.click('#pane-advanced button:has-text("Reset from form")');
      const req = JSON.parse(await page.locator('#pane-advanced textarea').first().inputValue());
      assert.deepEqual(req.algorithms, [-49]);
      assert.equal(req.timeout, 10000);
      await page.click('#pane-advanced button:has-text("Get options and register")');
      const ok = page.locator('#pane-advanced .result .alert.success');
      const err = page.locator('#pane-advanced .result .alert.error');
      await Promise.race([ok.waitFor({ timeout: 30000 }), err.waitFor({ timeout: 30000 })]);
      if (await ok.count()) return `supported: ${(await ok.innerText()).replace(/\s+/g, ' ').slice(0, 120)}`;
      const text = (await err.innerText()).replace(/\s+/g, ' ');
      // Not a failure of Keybench: the browser's authenticator lacks ML-DSA.
      assert.match(text, /NotSupportedError|NotAllowedError/, `unexpected error: ${text}`);
      return `not offered by Chromium's virtual authenticator: ${text.slice(0, 160)}`;
    });
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'register-advanced');

    await check('advanced register: the options edited in the JSON editor are the ones the browser uses', async () => {
      await go(page, base, 'register');
      await page.click('#tab-advanced');
      await page.fill('#pane-advanced input[name=username]', `${user}-adv`);
      for (const box of await page.locator('#pane-advanced fieldset').first().locator('input[type=checkbox]').all()) {
        const v = await box.getAttribute('value');
        if ((v === '-7') !== (await box.isChecked())) await box.click();
      }
      await page.selectOption('#pane-advanced select[name=residentKey]', 'required');
      await page.selectOption('#pane-advanced select[name=attestation]', 'direct');
      await page.click('#pane-advanced button:text-is("Get options")');
      await page.locator('#pane-advanced ol.steps li.ok', { hasText: '/api/advanced/register/begin' }).waitFor();
      const editor = page.locator('#pane-advanced textarea').nth(1);
      const opts = JSON.parse(await editor.inputValue());
      assert.deepEqual(opts.pubKeyCredParams.map((p) => p.alg), [-7]);
      assert.equal(opts.attestation, 'direct');
      assert.equal(opts.authenticatorSelection.residentKey, 'required');
      // Edit: ask for a non-discoverable credential instead.
      opts.authenticatorSelection.residentKey = 'discouraged';
      opts.authenticatorSelection.requireResidentKey = false;
      await editor.fill(JSON.stringify(opts, null, 2));
      const before = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials.length;
      await page.click('#pane-advanced button:text-is("Run ceremony")');
      const text = await successText(page, '#pane-advanced');
      assert.match(text, new RegExp(`Registered ${user}-adv`));
      // The server judged the extension outputs against what the options asked.
      assert.match(text, /credProps\s+ok/, text);
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, before + 1);
      const created = credentials.find((c) => !c.isResidentCredential);
      assert.ok(created, 'the edited options (residentKey discouraged) made a non-resident credential');
      return text.replace(/\s+/g, ' ').match(/Algorithm.*?(?=User verified)/)?.[0];
    });

    // The ML-DSA attempt may have signed in as another user: sign in as `user` again.
    await check('sign in again as the first user', async () => {
      await go(page, base, 'authenticate');
      await page.click('#tab-simple');
      await page.fill('#pane-simple input[name=username]', user);
      await page.click('#pane-simple button[type=submit]');
      assert.match(await successText(page), new RegExp(`Signed in as ${user}`));
    });

    let attestationObject;
    await check('the Credentials page lists the credential and decodes its attestation', async () => {
      await go(page, base, 'credentials');
      const cards = page.locator('main .card');
      await cards.first().waitFor();
      assert.equal(await cards.count(), 1);
      await page.click('main button:has-text("Decode attestation")');
      await page.locator('main .tree-view').waitFor();
      const tree = await page.locator('main .tree-view').innerText();
      assert.match(tree, /attestationObject/);
      assert.match(tree, /authData/);
      const creds = await page.evaluate(() => fetch('/api/credentials').then((r) => r.json()));
      attestationObject = creds[0].attestationObject;
      return `${creds[0].algorithmName}, attestation ${creds[0].attestation?.format}/${creds[0].attestation?.trust}`;
    });
    await noHorizontalScroll(page, 'credentials');
    await shot(page, 'credentials');

    await check('the Decoder page decodes a pasted attestation object', async () => {
      await go(page, base, 'decoder');
      await page.fill('main textarea[name=input]', attestationObject);
      await page.click('main button:has-text("Decode")');
      await page.locator('main .tree-view').waitFor();
      assert.match(await page.locator('main .tree-view').innerText(), /Detected: attestationObject/);
    });
    await noHorizontalScroll(page, 'decoder');
    await shot(page, 'decoder');

    // Chromium's virtual authenticator answers options written here as
    // another relying party would send them; the Verify page checks the
    // browser's toJSON() output step by step, then a changed challenge.
    const other = await page.evaluate(async () => {
      const b64u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      const rnd = (n) => crypto.getRandomValues(new Uint8Array(n));
      const toJSON = (cred) => (typeof cred.toJSON === 'function' ? cred.toJSON() : null);
      const challenge = rnd(32);
      const creation = {
        rp: { id: location.hostname, name: 'Another RP' }, user: { id: rnd(16), name: 'bob', displayName: 'Bob' },
        challenge, pubKeyCredParams: [{ type: 'public-key', alg: -7 }, { type: 'public-key', alg: -257 }],
        authenticatorSelection: { residentKey: 'discouraged', userVerification: 'preferred' },
        extensions: { credProps: true },
      };
      const reg = await navigator.credentials.create({ publicKey: creation });
      const optionsJson = { ...creation, challenge: b64u(challenge), user: { ...creation.user, id: b64u(creation.user.id) } };
      const requestChallenge = rnd(32);
      const request = { challenge: requestChallenge, rpId: location.hostname, allowCredentials: [{ type: 'public-key', id: reg.rawId }], userVerification: 'preferred' };
      const auth = await navigator.credentials.get({ publicKey: request });
      const requestJson = { ...request, challenge: b64u(requestChallenge), allowCredentials: [{ type: 'public-key', id: b64u(reg.rawId) }] };
      return { creation: optionsJson, registration: toJSON(reg), request: requestJson, assertion: toJSON(auth), origin: location.origin };
    });
    await check('the Verify page passes every step of a Chromium registration for another relying party', async () => {
      assert.ok(other.registration, 'PublicKeyCredential.toJSON() exists in this Chromium');
      await go(page, base, 'verify');
      await page.fill('main textarea[name=options]', JSON.stringify({ publicKey: other.creation }));
      await page.fill('main textarea[name=response]', JSON.stringify(other.registration));
      await page.fill('main input[name=origin]', other.origin);
      await page.click('main button[type=submit]');
      await page.locator('main .verify-report').waitFor();
      const text = await page.locator('main .verify-report .alert').first().innerText();
      assert.match(text, /every checkable step passed/, text);
      const verdicts = await page.locator('main .verify-report tr[data-status]').evaluateAll((trs) => trs.map((t) => t.dataset.status));
      assert.ok(verdicts.length >= 20, `${verdicts.length} steps shown`);
      assert.ok(!verdicts.includes('failed'));
      return `${verdicts.filter((v) => v === 'passed').length} passed, ${verdicts.filter((v) => v === 'notCheckable').length} not checkable`;
    });
    await noHorizontalScroll(page, 'verify');
    await shot(page, 'verify');
    await check('the Verify page passes the Chromium assertion with the registration response as the stored key', async () => {
      await go(page, base, 'verify');
      await page.fill('main textarea[name=options]', JSON.stringify(other.request));
      await page.fill('main textarea[name=response]', JSON.stringify(other.assertion));
      await page.fill('main textarea[name=publicKey]', JSON.stringify(other.registration));
      await page.fill('main input[name=origin]', other.origin);
      await page.click('main button[type=submit]');
      await page.locator('main .verify-report').waitFor();
      const text = await page.locator('main .verify-report .alert').first().innerText();
      assert.match(text, /Authentication \(§7.2\): every checkable step passed/, text);
    });
    await check('a changed challenge fails at §7.1 step 8 with its bytes highlighted', async () => {
      await go(page, base, 'verify');
      const changed = { ...other.creation, challenge: 'Y2hhbmdlZC1jaGFsbGVuZ2U' };
      await page.fill('main textarea[name=options]', JSON.stringify({ publicKey: changed }));
      await page.fill('main textarea[name=response]', JSON.stringify(other.registration));
      await page.fill('main input[name=origin]', other.origin);
      await page.click('main button[type=submit]');
      await page.locator('main .verify-report').waitFor();
      const failed = await page.locator('main .verify-report tr[data-status=failed]').allInnerTexts();
      assert.equal(failed.length, 1, failed.join('\n'));
      assert.match(failed[0], /7\.1 step 8/);
      const mark = page.locator('main pre.hex[data-input=clientDataJSON] mark').first();
      await mark.waitFor();
      await page.locator('main .verify-report tr[data-status=failed] button.link').click();
      if (SHOTS) {
        await page.evaluate(() => {
          const t = document.querySelector('main .verify-report tr[data-status=failed]');
          window.scrollTo(0, t.getBoundingClientRect().top + window.scrollY - 80);
        });
        await page.screenshot({ path: path.join(SHOTS, 'verify-failure.png') });
        const bytes = page.locator('main pre.wrap mark').first();
        await bytes.evaluate((m) => m.scrollIntoView({ block: 'center' }));
        await page.screenshot({ path: path.join(SHOTS, 'verify-failure-bytes.png') });
      }
      return await mark.getAttribute('title');
    });

    await check('the Metadata page uploads, lists and deletes a statement', async () => {
      await go(page, base, 'metadata');
      const root = fs.readFileSync(path.join(repo, 'crates/relying-party/data/globalsign-root-ca-r3.der')).toString('base64');
      const statement = { aaguid: '6b627669-7274-2d65-3265-2d7465737401', description: 'E2E test statement', attestationRootCertificates: [root] };
      await page.fill('main textarea[name=statementText]', JSON.stringify(statement));
      await page.click('main button:has-text("Upload")');
      await page.locator('main .alert.success, main .alert.error').first().waitFor();
      const errs = page.locator('main .alert.error');
      if (await errs.count()) throw new Error(await errs.innerText());
      const row = page.locator('main tr', { hasText: 'E2E test statement' });
      await row.waitFor();
      await shot(page, 'metadata');
      page.once('dialog', (d) => d.accept());
      await row.locator('button:has-text("Delete")').click();
      await page.locator('main', { hasText: 'No statements uploaded' }).waitFor();
    });
    await noHorizontalScroll(page, 'metadata');

    await check('the dashboard goes live, and its cookie table matches the cookie Chromium stored', async () => {
      await go(page, base, 'dashboard');
      await page.locator('.live-status.live').waitFor({ timeout: 15000 });
      await page.locator('main tr.current', { hasText: 'this browser' }).waitFor();
      const rows = page.locator('main tr[data-context].current');
      assert.ok(await rows.count() >= 1, 'the current context is marked in the cookie table');
      const shown = await rows.evaluateAll((trs) => trs.map((tr) => {
        const o = { context: tr.dataset.context, endpoint: tr.dataset.endpoint, name: tr.dataset.name };
        for (const td of tr.querySelectorAll('td[data-attr]')) if (td.dataset.value !== undefined) o[td.dataset.attr] = td.dataset.value;
        return o;
      }));
      const stored = await context.cookies(base);
      const { cookies: cdpCookies } = await cdp.send('Network.getCookies', { urls: [base] });
      const names = [...new Set(shown.map((r) => r.name))];
      const got = stored.find((c) => names.includes(c.name));
      assert.ok(got, `no cookie named ${names.join(' or ')} in the browser (it has: ${stored.map((c) => c.name).join(', ') || 'none'})`);
      const raw = cdpCookies.find((c) => c.name === got.name);
      assert.ok(raw && raw.httpOnly === got.httpOnly && raw.secure === got.secure && raw.sameSite === got.sameSite, 'CDP Network.getCookies and Playwright agree');
      // What every row of this context must say about the stored cookie.
      for (const want of shown.filter((r) => r.name === got.name)) {
        assert.equal(String(got.httpOnly), want.httpOnly, `${want.endpoint}: HttpOnly`);
        assert.equal(String(got.secure), want.secure, `${want.endpoint}: Secure`);
        assert.equal(got.path, want.path, `${want.endpoint}: Path`);
      }
      // SameSite and Max-Age differ between endpoints and lifetimes: the
      // cookie must match one of the rows exactly.
      const left = got.expires < 0 ? null : got.expires - Date.now() / 1000;
      const matches = shown.filter((want) => want.name === got.name
        && got.sameSite.toLowerCase() === want.sameSite.toLowerCase()
        && (want.maxAge === '' ? left === null : left !== null && Math.abs(left - Number(want.maxAge)) < 600));
      const describe = `${got.name}: HttpOnly=${got.httpOnly} Secure=${got.secure} SameSite=${got.sameSite} Path=${got.path} expires-in=${left === null ? 'session' : `${Math.round(left)} s`}`;
      assert.ok(matches.length >= 1, `the stored cookie (${describe}) matches no row of the table: ${JSON.stringify(shown)}`);
      const compared = [`stored ${describe} = table row ${matches.map((m) => `${m.context}/${m.endpoint} (SameSite=${m.sameSite}, Max-Age=${m.maxAge})`).join(' or ')}`];
      return compared.join('; ');
    });

    await check('a new challenge is pushed to the dashboard and its TTL counts down', async () => {
      const before = await page.locator('main tr[data-state=issued]').count();
      // Another tab of the same browser begins a ceremony: the server pushes it.
      const other = await context.newPage();
      await other.goto(base);
      await other.evaluate(() => fetch('/api/authenticate/begin', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }).then((r) => r.status));
      await page.waitForFunction((n) => document.querySelectorAll('main tr[data-state=issued]').length > n, before, { timeout: 10000 });
      await other.close();
      const ttl = page.locator('main tr[data-state=issued] time[data-ttl]').first();
      const t1 = await ttl.innerText();
      await page.waitForTimeout(2100);
      const t2 = await ttl.innerText();
      assert.match(t1, /^expires in \d+:\d\d$/);
      assert.notEqual(t1, t2, 'the countdown ticks');
      return `${t1} → ${t2}`;
    });

    await check('cleanup "Run now" reports a run', async () => {
      await page.click('main button:has-text("Run now")');
      await page.waitForFunction(() => !document.querySelector('main .grid-3')?.innerText.includes('not yet'), null, { timeout: 10000 });
    });
    await noHorizontalScroll(page, 'dashboard');
    await shot(page, 'dashboard');
    if (SHOTS) {
      // The lower half: the cookie table, cleanup, key, storage.
      await page.evaluate(() => {
        const h2 = [...document.querySelectorAll('main h2')].find((x) => x.textContent.includes('Session cookie attributes'));
        window.scrollTo(0, h2.getBoundingClientRect().top + window.scrollY - 60);
      });
      await page.screenshot({ path: path.join(SHOTS, 'dashboard-cookies.png') });
    }

    await check('without the launch secret the dashboard explains itself', async () => {
      const fresh = await browser.newContext({ viewport: VIEWPORT });
      const p = await fresh.newPage();
      await p.goto(`${base}#/dashboard`);
      const text = await p.locator('main').innerText();
      assert.match(text, /needs this launch's secret/);
      await fresh.close();
    });

    await check('opened at 127.0.0.1, the ceremony pages explain the IP-address RP ID problem', async () => {
      const p = await context.newPage();
      await p.goto(`${base.replace('localhost', '127.0.0.1')}#/register`);
      const warn = p.locator('main .alert.warn');
      await warn.waitFor();
      assert.match(await warn.innerText(), /IP address/);
      assert.equal(await warn.locator('a').getAttribute('href'), base);
      await p.close();
    });

    await check('a page on another localhost port cannot frame the UI (frame-ancestors, X-Frame-Options)', async () => {
      const http = await import('node:http');
      const framer = http.createServer((req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end(`<!doctype html><title>framer</title><iframe id="f" src="${base}" width="800" height="600"></iframe>`);
      });
      await new Promise((resolve) => framer.listen(0, '127.0.0.1', resolve));
      const fresh = await browser.newContext({ viewport: VIEWPORT });
      const p = await fresh.newPage();
      const refusals = [];
      p.on('console', (m) => { if (/frame-ancestors|X-Frame-Options/i.test(m.text())) refusals.push(m.text()); });
      try {
        await p.goto(`http://localhost:${framer.address().port}/`);
        await p.locator('#f').waitFor();
        await p.waitForTimeout(1500);
        const child = p.frames().find((f) => f !== p.mainFrame());
        assert.ok(child, 'the iframe exists');
        const hasUi = await child.locator('main h1').count().catch(() => 0);
        assert.equal(hasUi, 0, `the UI rendered inside a foreign page (frame at ${child.url()})`);
        assert.ok(!child.url().startsWith(base) || refusals.length > 0, `frame at ${child.url()}, no refusal logged`);
        return `frame ${child.url()}; ${refusals.length} refusal message(s)`;
      } finally {
        await fresh.close();
        framer.close();
      }
    });

    await check('no script errors in the page', async () => {
      const real = consoleErrors.filter((e) => !/status of 4\d\d/.test(e));
      assert.deepEqual(real, []);
    });
  } catch (e) {
    failed = true;
    if (!results.length || results[results.length - 1].ok) log(`FAIL: ${e && e.stack ? e.stack : e}`);
  } finally {
    if (browser) await browser.close();
    const status = await stopServer(server.child);
    log(`server stopped (${status}); log: ${server.logFile}`);
    if (notes.mldsa) log(`ML-DSA note: ${notes.mldsa}`);
  }
  const passed = results.filter((r) => r.ok).length;
  log(`${passed}/${results.length} checks passed${failed ? ' — FAILED' : ''}`);
  process.exit(failed ? 1 : 0);
}

main();
