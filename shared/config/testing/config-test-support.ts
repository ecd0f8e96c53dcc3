// Helpers for configuration tests: temporary config and token files, and an assertion on the
// field and message of a ConfigurationError.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../errors.ts';

export const TOKEN = 'a-long-enough-cluster-token-0123';

/** A temporary directory for files a test writes; `cleanup()` removes it. */
export function tempFiles(): { write(name: string, content: string | object): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
  return {
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
      return path;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Asserts that `fn` throws a ConfigurationError for `field` whose full message matches `message`. */
export function assertConfigError(fn: () => unknown, field: string, message?: RegExp): ConfigurationError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigurationError, `expected a ConfigurationError, got ${String(caught)}`);
  assert.equal(caught.field, field, caught.message);
  if (message) assert.match(caught.message, message);
  return caught;
}
