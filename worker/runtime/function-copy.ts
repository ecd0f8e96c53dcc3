// Each subtask runs its own copy of a user function object, as each Flink subtask deserializes
// its own: a process function that keeps its state handles or buffers in fields (`this.state =
// ctx.getState(…)` in open) then works at any parallelism. The copy has the same prototype
// (methods, class) and copies of the object's own plain data; closures cannot be copied, so
// per-instance state belongs on `this`, not in a captured variable.

function copyData(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value);
  const plain = Array.isArray(value) || value instanceof Map || value instanceof Set || proto === Object.prototype || proto === null;
  if (!plain) return value;
  try {
    return structuredClone(value);
  } catch {
    return value; // holds functions or other things that cannot be copied: shared, as before
  }
}

/** This subtask's instance of a user function: made by its factory (or class), or a copy of the object. */
export function instantiateForSubtask<T extends object>(fn: T | (() => T)): T {
  if (typeof fn === 'function') {
    const prototype = (fn as { prototype?: Record<string, unknown> }).prototype;
    const isClass = prototype !== undefined && Object.getOwnPropertyNames(prototype).length > 1;
    return isClass ? new (fn as unknown as new () => T)() : (fn as () => T)();
  }
  return copyForSubtask(fn);
}

export function copyForSubtask<T>(fn: T): T {
  if (fn === null || typeof fn !== 'object') return fn;
  const copy = Object.create(Object.getPrototypeOf(fn)) as T;
  for (const key of Reflect.ownKeys(fn)) {
    const descriptor = Object.getOwnPropertyDescriptor(fn, key)!;
    if ('value' in descriptor) descriptor.value = copyData(descriptor.value);
    Object.defineProperty(copy, key, descriptor);
  }
  return copy;
}
