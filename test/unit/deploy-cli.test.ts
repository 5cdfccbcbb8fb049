// Every container command in deploy/ (Kubernetes base + overlays, compose) must be a valid
// `pipa` invocation according to the project's own CLI: `pipa <command> --help` exits 0 and
// lists every flag the manifest passes. Until the integrator adds the coordinator/worker
// commands and their flags, this test FAILS on purpose, listing what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { expandedArgs, kustomize, podSpec, type Obj } from './deploy-render.js';

interface Invocation {
  where: string;
  argv: string[];
}

function invocations(): Invocation[] {
  const out: Invocation[] = [];
  for (const overlay of ['base', 'overlays/gpu-2', 'overlays/gpu-8']) {
    const { objects } = kustomize(join('deploy', 'k8s', overlay));
    for (const o of objects.filter((x) => x.spec?.template?.spec?.containers)) {
      for (const c of podSpec(o).containers as Obj[]) {
        assert.equal(c.command, undefined, `${overlay} ${o.kind}/${o.metadata.name}: use args, the image's entrypoint is pipa`);
        out.push({ where: `k8s ${overlay} ${o.kind}/${o.metadata.name}`, argv: expandedArgs(objects, c) });
      }
    }
  }
  const compose = parseYaml(readFileSync('deploy/compose/docker-compose.yml', 'utf8'), { merge: true }) as Obj;
  for (const [name, s] of Object.entries(compose.services as Record<string, Obj>)) {
    out.push({ where: `compose ${name}`, argv: (s.command as unknown[]).map(String) });
  }
  return out;
}

/** Options yargs marks [required] in a command's help (the marker may sit on a wrapped line). */
function requiredFlags(help: string): string[] {
  const out: string[] = [];
  let current: string | null = null;
  for (const line of help.split('\n')) {
    const m = /^\s+(?:-\w, )?(--[\w-]+)/.exec(line);
    if (m) current = m[1];
    else if (!/^\s{6,}/.test(line)) current = null;
    if (current && line.includes('[required]')) out.push(current);
  }
  return [...new Set(out)];
}

test('every container command in deploy/ is a valid pipa invocation', () => {
  const all = invocations();
  assert.ok(all.length >= 8, `found ${all.length} container commands`);
  const helpCache = new Map<string, { status: number | null; text: string }>();
  const problems: string[] = [];
  for (const inv of all) {
    const [cmd, ...rest] = inv.argv;
    for (const a of inv.argv) assert.doesNotMatch(a, /\$\(/, `${inv.where}: unexpanded ${a}`);
    if (!helpCache.has(cmd)) {
      const r = spawnSync(process.execPath, ['bin/pipa.js', cmd, '--help'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PIPA_CLI_NO_MAIN: '0' } });
      helpCache.set(cmd, { status: r.status, text: `${r.stdout}\n${r.stderr}` });
    }
    const help = helpCache.get(cmd)!;
    // Commands the integrator adds (coordinator, worker): missing ones are reported here.
    if (help.status !== 0 || !new RegExp(`pipa ${cmd}\\b`).test(help.text)) {
      problems.push(`${inv.where}: 'pipa ${cmd}' is not a command (\`pipa ${cmd} --help\` exited ${help.status} without its usage line)`);
      continue;
    }
    const flags = [...new Set(rest.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]))];
    // Flags the integrator adds (e.g. --tls-dir, --token-file, --health-port): listed when absent.
    const missing = flags.filter((f) => !new RegExp(`(^|[\\s,])${f}(?![\\w-])`, 'm').test(help.text));
    if (missing.length) problems.push(`${inv.where}: pipa ${cmd} has no ${missing.join(', ')}`);
    // Required options must be given. The k8s workers rely on RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT
    // instead of --coordinator (src/common/torch-env.ts): the CLI must not demand it when those are set.
    const absent = requiredFlags(help.text).filter((f) => !flags.includes(f));
    if (absent.length) problems.push(`${inv.where}: pipa ${cmd} requires ${absent.join(', ')}, which the manifest does not pass`);
  }
  const unique = [...new Set(problems.map((p) => p.replace(/^\S+ \S+ \S+: |^compose \S+: /, '')))];
  assert.deepEqual(unique, [], `deploy/ uses commands or flags the CLI does not have:\n  ${problems.join('\n  ')}`);
});

test('the check itself rejects an unknown flag (control)', () => {
  const r = spawnSync(process.execPath, ['bin/pipa.js', 'print-config', '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /--config/);
  assert.doesNotMatch(r.stdout, /--tls-dirx/);
  assert.deepEqual(requiredFlags(r.stdout), ['--config'], 'required options are read from the help');
  const bad = spawnSync(process.execPath, ['bin/pipa.js', 'no-such-command', '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.ok(bad.status !== 0 || !/pipa no-such-command\b/.test(bad.stdout + bad.stderr), 'an unknown command is detected');
});
