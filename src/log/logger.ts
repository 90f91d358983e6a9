import { createRequire } from 'node:module';
import type { Logger as PinoLogger } from 'pino';

// pino is loaded only for --log-format json; every command pays for what the CLI imports.
const requireLazily = createRequire(import.meta.url);

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export type LogFields = Record<string, string | number | boolean | undefined>;

/** One line per HTTP request. */
export interface AccessEntry {
  method: string;
  path: string;
  status: number;
  bytes: number;
  durationMs: number;
  remote?: string;
  repo?: string;
  requestId?: string;
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  access(entry: AccessEntry): void;
  flush(): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  access() {},
  flush() {},
};

/** JSON lines through pino (for log shippers), or aligned text for people; both on stderr by default. */
export function createLogger(options: { level: LogLevel; format: LogFormat; write?: (line: string) => void }): Logger {
  if (options.format === 'json' && !options.write) return pinoLogger(options.level);
  return textLogger(options.level, options.write ?? ((line) => process.stderr.write(line)), options.format);
}

function pinoLogger(level: LogLevel): Logger {
  const { pino } = requireLazily('pino') as typeof import('pino');
  const log: PinoLogger = pino(
    { level, base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    pino.destination({ dest: 2, sync: false, minLength: 4096 }),
  );
  return {
    debug: (msg, fields) => log.debug(fields ?? {}, msg),
    info: (msg, fields) => log.info(fields ?? {}, msg),
    warn: (msg, fields) => log.warn(fields ?? {}, msg),
    error: (msg, fields) => log.error(fields ?? {}, msg),
    access: (entry) => log.info({ ...entry, durationMs: round(entry.durationMs) }, 'request'),
    flush: () => log.flush(),
  };
}

function textLogger(level: LogLevel, write: (line: string) => void, format: LogFormat): Logger {
  const min = RANK[level];
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void => {
    if (RANK[lvl] < min) return;
    if (format === 'json') {
      write(`${JSON.stringify({ level: lvl, time: new Date().toISOString(), msg, ...fields })}\n`);
      return;
    }
    write(`${new Date().toISOString()} ${lvl.padEnd(5)} ${msg}${formatFields(fields)}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    access: (e) => {
      if (format === 'json') return emit('info', 'request', { ...e, durationMs: round(e.durationMs) });
      emit('info', `${e.method} ${e.path} ${e.status} ${e.bytes}B ${round(e.durationMs)}ms`, { remote: e.remote, requestId: e.requestId });
    },
    flush() {},
  };
}

function formatFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  let out = '';
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const s = String(v);
    out += ` ${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
  }
  return out;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
