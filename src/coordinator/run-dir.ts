// A run directory: config.yaml (the resolved config), metrics.jsonl, checkpoints/, logs/.
// The default lives under work_dirs/<config name>-<UTC time> so runs never overwrite each
// other; an explicit --work-dir that already holds checkpoints of the same config resumes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { configToYaml } from '../config/load.js';
import type { PipaConfig } from '../config/schema.js';

export interface RunDir {
  root: string;
  configPath: string;
  metricsPath: string;
  checkpointsDir: string;
  logsDir: string;
}

export function defaultWorkDir(config: Pick<PipaConfig, 'name'>, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return join('work_dirs', `${config.name}-${stamp}`);
}

export function createRunDir(dir: string, config: PipaConfig, hash: string): RunDir {
  const root = resolve(dir);
  const rd: RunDir = {
    root,
    configPath: join(root, 'config.yaml'),
    metricsPath: join(root, 'metrics.jsonl'),
    checkpointsDir: join(root, 'checkpoints'),
    logsDir: join(root, 'logs'),
  };
  for (const d of [root, rd.checkpointsDir, rd.logsDir]) mkdirSync(d, { recursive: true });
  writeFileSync(rd.configPath, `# config hash: ${hash}\n${configToYaml(config)}`);
  return rd;
}

/** The coordinator's logger: JSON lines to logs/coordinator.log, and to stderr (pretty on a TTY). */
export function runLogger(rd: RunDir, o: { level: string; pretty: boolean }): Logger {
  const file = pino.destination({ dest: join(rd.logsDir, 'coordinator.log'), sync: true });
  const console = o.pretty
    ? pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', destination: 2 } })
    : pino.destination({ fd: 2, sync: true });
  return pino({ level: o.level, base: { pid: process.pid, component: 'coordinator' } }, pino.multistream([{ level: o.level as pino.Level, stream: file }, { level: o.level as pino.Level, stream: console }]));
}
