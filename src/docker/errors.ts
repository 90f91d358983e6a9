import { CliError, ExitCode } from '../cli/errors.js';
import { ProgressStreamError } from './progress.js';

/** The engine cannot be reached: not running, wrong DOCKER_HOST, or no permission on its socket. */
export class EngineUnavailable extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.connection, options);
    this.name = 'EngineUnavailable';
  }
}

/** The engine answered but refused or failed the operation. */
export class EngineError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.failure, options);
    this.name = 'EngineError';
  }
}

interface DockerodeError extends Error {
  code?: string;
  statusCode?: number;
  json?: { message?: string } | null;
}

const ABSENT = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EHOSTUNREACH', 'ETIMEDOUT']);

/** One line a person can act on, from whatever dockerode or the engine threw. */
export function translateEngineError(err: unknown, host: string): Error {
  if (err instanceof CliError) return err;
  if (err instanceof ProgressStreamError) return new EngineError(`the engine reported: ${err.message}`, { cause: err });
  const e = err as DockerodeError;
  if (e?.code === 'EACCES' || e?.code === 'EPERM') {
    return new EngineUnavailable(
      `permission denied on the Docker engine socket (${host}): add your user to the "docker" group (sudo usermod -aG docker $USER, then log in again) or run as root`,
      { cause: err },
    );
  }
  if (e?.code && ABSENT.has(e.code)) {
    return new EngineUnavailable(
      `no Docker engine is running at ${host} (${e.code}): start it (sudo systemctl start docker, or dockerd) or point DOCKER_HOST at a running engine`,
      { cause: err },
    );
  }
  if (e?.statusCode) return new EngineError(`the engine refused: ${e.json?.message ?? e.message.trim()}`, { cause: err });
  return new EngineError(`the engine failed: ${e?.message ?? String(err)}`, { cause: err });
}
