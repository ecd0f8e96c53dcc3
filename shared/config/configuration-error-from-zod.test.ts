import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ConfigurationError } from '../errors.ts';
import { configurationErrorFromZod } from './configuration-error-from-zod.ts';

function zodErrorOf(schema: z.ZodTypeAny, value: unknown): z.ZodError {
  const result = schema.safeParse(value);
  assert.ok(!result.success, 'expected the schema to refuse the value');
  return result.error;
}

const options = z.object({
  host: z.string().min(1, 'needs a host'),
  limits: z.object({ maxBytes: z.number().int().min(1, 'must be at least 1 byte') }),
});

describe('configurationErrorFromZod', () => {
  it('names the field by the path of the first issue, with its message', () => {
    const error = configurationErrorFromZod(zodErrorOf(options, { host: '', limits: { maxBytes: 0 } }));
    assert.ok(error instanceof ConfigurationError);
    assert.equal(error.field, 'host');
    assert.equal(error.message, 'host: needs a host');
  });

  it('joins a nested path with dots', () => {
    const error = configurationErrorFromZod(zodErrorOf(options, { host: 'h', limits: { maxBytes: 0 } }));
    assert.equal(error.field, 'limits.maxBytes');
    assert.equal(error.message, 'limits.maxBytes: must be at least 1 byte');
  });

  it('calls the whole value `options` when the issue has no path', () => {
    const error = configurationErrorFromZod(zodErrorOf(z.string().min(1, 'is empty'), ''));
    assert.equal(error.field, 'options');
    assert.equal(error.message, 'options: is empty');
  });

  it('puts the path under a named field, or names the field itself for the whole value', () => {
    assert.equal(configurationErrorFromZod(zodErrorOf(options, { host: 'h', limits: { maxBytes: 0 } }), 'sink').field, 'sink.limits.maxBytes');
    const whole = configurationErrorFromZod(zodErrorOf(z.string().min(1, 'is empty'), ''), '--rest-port');
    assert.equal(whole.field, '--rest-port');
    assert.equal(whole.message, '--rest-port: is empty');
  });

  it('lets a function name the field from the path', () => {
    const error = configurationErrorFromZod(zodErrorOf(options, { host: '', limits: { maxBytes: 1 } }), (path) => `--${String(path[0])}`);
    assert.equal(error.field, '--host');
    assert.equal(error.message, '--host: needs a host');
  });
});
