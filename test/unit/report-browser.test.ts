// Renders report.html in a real headless browser (Debian's chromium) and checks that it
// renders without errors: no console errors or CSP violations (the page forbids every network
// load), every embedded image decodes, every chart is there, and the screenshot is not blank.
// Skips with a printed reason where /usr/bin/chromium is absent (apt-get install -y chromium).
// PIPA_REPORT_SCREENSHOT=path keeps the screenshot for a person to look at.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { writeReport } from '../../src/report/build-report.js';
import { makeFixtureRun } from './report-run-fixture.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (apt-get install -y chromium)`;
if (skip) console.log(`# report-browser: skipped: ${skip}`);

function chromium(profile: string, args: string[]) {
  const r = spawnSync(
    CHROMIUM,
    [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', '--enable-logging=stderr', '--v=0',
      `--user-data-dir=${profile}`, ...args,
    ],
    { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20 },
  );
  if (r.error) throw new Error(`chromium did not run: ${r.error.message}`);
  return r;
}

test('report.html renders in headless chromium without errors', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipa-report-browser-'));
  try {
    const run = makeFixtureRun(join(dir, 'run'), { samples: 3 });
    const { path } = writeReport(run.dir, { maxSamples: 3 });
    const url = pathToFileURL(path).href;

    const dom = chromium(join(dir, 'profile-dom'), ['--virtual-time-budget=10000', '--dump-dom', url]);
    assert.equal(dom.status, 0, `chromium --dump-dom exited ${dom.status}: ${dom.stderr.slice(-2000)}`);
    const problems = dom.stderr.split('\n').filter((l) => /CONSOLE|Refused to|Uncaught|Content.Security.Policy/i.test(l));
    assert.deepEqual(problems, [], 'console errors or blocked loads while rendering');
    const check = /data-check="([^"]*)"/.exec(dom.stdout)?.[1];
    assert.equal(check, 'images=9 decoded=9 svgs=6', 'the load check ran: every sample image decoded, every chart present');

    const shot = join(dir, 'report.png');
    const s = chromium(join(dir, 'profile-shot'), ['--hide-scrollbars', '--window-size=1400,2600', `--screenshot=${shot}`, url]);
    assert.equal(s.status, 0, `chromium --screenshot exited ${s.status}: ${s.stderr.slice(-2000)}`);
    const stats = await sharp(readFileSync(shot)).stats();
    const spread = stats.channels.slice(0, 3).map((c) => c.stdev);
    console.log(`# screenshot ${stats.channels.length}ch, stdev per channel ${spread.map((v) => v.toFixed(1)).join('/')}`);
    assert.ok(spread.every((v) => v > 10), 'the screenshot is not blank');
    if (process.env.PIPA_REPORT_SCREENSHOT) copyFileSync(shot, process.env.PIPA_REPORT_SCREENSHOT);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
