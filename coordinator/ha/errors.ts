// The two ways a fenced write to the high-availability store is refused (declared in
// shared/errors.ts, where the error-to-status table needs them).

export { ConflictError, FencedError } from '../../shared/errors.ts';
