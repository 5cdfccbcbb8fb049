// One pino root logger per process; components take child loggers ({component, rank}).
// JSON lines by default (machine-readable), human-readable when asked or on a TTY.
import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Pretty, coloured output (pino-pretty) instead of JSON lines. */
  pretty?: boolean;
  /** Extra fields on every line, e.g. {rank: 0}. */
  base?: Record<string, unknown>;
}

export function createLogger(o: LoggerOptions = {}): Logger {
  const level = o.level ?? 'info';
  const base = { pid: process.pid, ...o.base };
  if (o.pretty) {
    return pino({
      level,
      base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level, base }, pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
