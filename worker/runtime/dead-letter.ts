// Where records that cannot be read go: each dead letter names the operator, the position of the
// record in its source (file and line, partition and offset), the reason and the raw text, and
// counts in the job's numRecordsDeadLettered metric. The job goes on.

import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface DeadLetter {
  readonly operator: string;
  readonly subtask: number;
  readonly position: string;
  readonly reason: string;
  readonly raw: string;
}

export interface DeadLetterOutput {
  write(letter: DeadLetter): void;
  readonly count: number;
}

/** Keeps dead letters in memory: for tests and for jobs run without a dead-letter path. */
export class InMemoryDeadLetterOutput implements DeadLetterOutput {
  readonly letters: DeadLetter[] = [];
  get count(): number {
    return this.letters.length;
  }
  write(letter: DeadLetter): void {
    this.letters.push(letter);
  }
}

/** Appends each dead letter as one JSON line to a file (created on the first letter). */
export class FileDeadLetterOutput implements DeadLetterOutput {
  private written = 0;
  private created = false;
  constructor(readonly path: string) {}
  get count(): number {
    return this.written;
  }
  write(letter: DeadLetter): void {
    if (!this.created) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.created = true;
    }
    appendFileSync(this.path, JSON.stringify({ time: new Date().toISOString(), ...letter }) + '\n');
    this.written++;
  }
}
