// `npm run bench:data` runs and prints images/s (quick mode: 1 file per domain, 2 timed steps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

test('bench/data.bench.ts --quick prints images/s', () => {
  const cwd = fileURLToPath(new URL('../../../', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/data.bench.ts', '--quick'], { cwd, encoding: 'utf8', timeout: 600_000 });
  console.log(r.stdout.trim());
  assert.equal(r.status, 0, r.stderr);
  const m = /images\/s: ([\d.]+)/.exec(r.stdout);
  assert.ok(m && Number(m[1]) > 0, r.stdout);
});
