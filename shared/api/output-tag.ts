// Side outputs: a process function sends values to an OutputTag; `getSideOutput(tag)` reads them.

export class OutputTag<T> {
  declare readonly elementType?: T;
  constructor(readonly id: string) {
    if (typeof id !== 'string' || id.length === 0) throw new TypeError('an OutputTag needs a non-empty id');
  }
}
