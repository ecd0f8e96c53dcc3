// A fenced write (or read) whose refusal also tells its owner that the leadership is gone, so the
// job controller, the checkpoint pointer and the applications all step down the same way.

import { FencedError } from '../../shared/errors.ts';

export async function callReportingFencing<T>(call: () => Promise<T>, onFenced: (error: FencedError) => void): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof FencedError) onFenced(error);
    throw error;
  }
}
