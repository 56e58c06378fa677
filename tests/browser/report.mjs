// The key lab's report in headless Chromium.
//
// Starts a virtual key (`keybench virtual-key serve --udp 127.0.0.1:0`),
// runs `keybench compare` on it for the five algorithms with `--report`,
// opens the HTML page it wrote from a file: URL in headless Debian Chromium
// driven by playwright-core, and checks that it renders with no console
// error, makes no request but for the page itself (every other request is
// recorded and refused), shows its six charts with bars, and prints to PDF.
// Writes screenshots of the page (top, and the charts) into
// docs/screenshots/ unless KEYBENCH_SCREENSHOTS is "".
//
// Env: KEYBENCH_BIN (required), CHROMIUM (default /usr/bin/chromium),
// KEYBENCH_SCREENSHOTS (default <repo>/docs/screenshots; "" to skip),
// KEYBENCH_COMPARE_ROUNDS (default 3). KEYBENCH_REPORT_HTML: check a report
// made elsewhere instead (the HID VM's, over /dev/hidraw0; its JSON beside
// it), with screenshots named after KEYBENCH_REPORT_SHOT (default "report").
// Exit status 0 when every check passed.

import { chromium } from 'playwright-core';
import { spawn, execFile } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const BIN = process.env.KEYBENCH_BIN;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.KEYBENCH_SCREENSHOTS ?? path.join(repo, 'docs', 'screenshots');
const ROUNDS = process.env.KEYBENCH_COMPARE_ROUNDS || '3';
const GIVEN = process.env.KEYBENCH_REPORT_HTML;
const SHOT = process.env.KEYBENCH_REPORT_SHOT || 'report';
const run = promisify(execFile);

function log(msg) { console.log(`[report] ${msg}`); }

function startVirtualKey() {
  const child = spawn(BIN, ['virtual-key', 'serve', '--udp', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const addr = new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('the virtual key printed no address within 30 s')), 30000);
    child.stdout.on('data', (chunk) => {
      buf += chunk.toString();
      const m = /listening on udp (\S+)/.exec(buf);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`the virtual key exited with ${code}`)); });
  });
  return { child, addr };
}

async function main() {
  if (!BIN && !GIVEN) throw new Error('set KEYBENCH_BIN to the keybench binary (e.g. target/debug/keybench)');
  const key = GIVEN ? null : startVirtualKey();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keybench-report-'));
  let browser;
  try {
    let file = GIVEN ? path.resolve(GIVEN) : path.join(dir, 'report.html');
    if (!GIVEN) {
      const addr = await key.addr;
      log(`keybench compare udp:${addr} --rounds ${ROUNDS} --report ${file}`);
      const { stdout } = await run(BIN, ['compare', `udp:${addr}`, '--rounds', ROUNDS, '--report', file], { timeout: 300000 });
      assert.match(stdout, /\| ML-DSA-87 \| registration \|/);
    }
    const json = JSON.parse(fs.readFileSync(file.replace(/\.html$/, '.json'), 'utf8'));
    assert.equal(json.sections[0].kind, 'compare');
    assert.deepEqual(json.sections[0].algorithms.map((a) => a.status), Array(5).fill('measured'));

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    log(`chromium ${browser.version()}`);
    const context = await browser.newContext({ viewport: { width: 1024, height: 760 } });
    const page = await context.newPage();
    const problems = [];
    const pageUrl = pathToFileURL(file).href;
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
    const requests = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url === pageUrl) return route.continue();
      requests.push(url);
      return route.abort();
    });
    page.on('request', (r) => { if (r.url() !== pageUrl && !requests.includes(r.url())) requests.push(r.url()); });

    await page.goto(pageUrl, { waitUntil: 'load' });
    await page.waitForTimeout(300);
    assert.deepEqual(requests, [], 'the report makes no request of its own');
    assert.deepEqual(problems, [], 'no console errors or warnings');
    log('ok - renders offline: no request, no console error');

    const charts = await page.$$eval('svg.chart', (svgs) => svgs.map((s) => {
      const box = s.getBoundingClientRect();
      return { w: box.width, h: box.height, bars: s.querySelectorAll('rect > title').length, title: s.getAttribute('aria-label') };
    }));
    assert.equal(charts.length, 6, 'six charts');
    for (const c of charts) {
      assert.ok(c.w > 600 && c.h > 200, `${c.title}: drawn at ${c.w}x${c.h}`);
      assert.ok(c.bars >= 10, `${c.title}: ${c.bars} bars`);
    }
    log(`ok - six charts with bars: ${charts.map((c) => `${c.title} (${c.bars})`).join('; ')}`);
    const scripts = await page.$$eval('script', (s) => s.length);
    assert.equal(scripts, 0, 'no scripts');
    const title = await page.title();
    assert.match(title, /Keybench key report/);

    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    assert.ok(pdf.length > 20000 && pdf.subarray(0, 5).toString() === '%PDF-', 'prints to PDF');
    log(`ok - prints to a ${Math.round(pdf.length / 1024)} KB PDF`);

    if (SHOTS) {
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, `${SHOT}.png`) });
      await page.locator('section#compare').scrollIntoViewIfNeeded();
      await page.evaluate(() => document.querySelector('section#compare').scrollIntoView());
      await page.screenshot({ path: path.join(SHOTS, `${SHOT}-charts.png`) });
      log(`screenshots in ${SHOTS}: ${SHOT}.png, ${SHOT}-charts.png`);
    }
    log('all checks passed');
  } finally {
    if (browser) await browser.close();
    if (key) key.child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`[report] FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
