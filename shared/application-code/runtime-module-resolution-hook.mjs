// The module resolution hook registerRuntimeModuleResolution installs (runtime-modules.ts): maps
// the runtime's bare specifiers to this installation's files and leaves every other specifier to
// the next resolver. Plain JavaScript because it loads on Node's loader thread, before any
// TypeScript loader can be relied on there.

/** @type {Map<string, string>} */
let modules = new Map();

/** @param {{ modules: Record<string, string> }} data */
export function initialize(data) {
  modules = new Map(Object.entries(data.modules));
}

export async function resolve(specifier, context, nextResolve) {
  // The file URL goes on down the chain, so a TypeScript loader (tsx) still sees the .ts it loads.
  return nextResolve(modules.get(specifier) ?? specifier, context);
}
