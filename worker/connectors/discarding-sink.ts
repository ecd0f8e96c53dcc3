// A sink that counts and drops records: for benchmarks, where the engine's cost is the point
// and not the cost of an output format.

import type { Sink, SinkWriter } from '../../shared/api/connectors.ts';

export class DiscardingSink<T> implements Sink<T> {
  readonly name = 'Discard';
  /** Records written by all writers of this sink, in this process. */
  count = 0;

  createWriter(): SinkWriter<T> {
    let written = 0;
    return {
      write: () => {
        written++;
      },
      prepareCommit: () => {
        this.count += written;
        written = 0;
        return undefined;
      },
      commit: async () => {},
      close: () => {},
    };
  }
}
