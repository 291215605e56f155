/** Module resolution hook (see register.mjs): 'electron' is the stand-in beside this file. */
const FAKE = new URL('./electron.mjs', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'electron') return { url: FAKE, format: 'module', shortCircuit: true };
  return nextResolve(specifier, context);
}
