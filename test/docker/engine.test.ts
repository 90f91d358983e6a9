// Failures that need no running engine: where regctl looks for it and what it says when nothing is there.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { translateEngineError } from '../../src/docker/errors.js';
import { runCli } from '../helpers/cli.js';

describe('without a Docker engine', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'regctl-noengine-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const args of [['push', 'app:v1', '--registry', '127.0.0.1:1'], ['pull', '127.0.0.1:1/app:v1'], ['images', '--registry', '127.0.0.1:1']]) {
    it(`regctl ${args[0]} says no engine runs at DOCKER_HOST, in one line, exit 5`, async () => {
      const socket = join(dir, 'missing.sock');
      const result = await runCli(args, { env: { DOCKER_HOST: `unix://${socket}` } });
      expect(result.stderr).toBe(
        `regctl: no Docker engine is running at unix://${socket} (ENOENT): start it (sudo systemctl start docker, or dockerd) or point DOCKER_HOST at a running engine\n`,
      );
      expect(result.stdout).toBe('');
      expect(result.code).toBe(5);
    });
  }
});

describe('translateEngineError', () => {
  it('names the socket and the docker group for a permission problem', () => {
    const err = Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' });
    expect(translateEngineError(err, 'unix:///var/run/docker.sock').message).toMatch(
      /^permission denied on the Docker engine socket \(unix:\/\/\/var\/run\/docker.sock\): add your user to the "docker" group/,
    );
  });

  it('keeps the engine message of an HTTP error', () => {
    const err = Object.assign(new Error('(HTTP code 500) server error - boom '), { statusCode: 500, json: { message: 'boom' } });
    expect(translateEngineError(err, 'x').message).toBe('the engine refused: boom');
  });
});
