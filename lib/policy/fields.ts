// Reading the plain objects callers pass: own properties only, and no field the
// reader does not know. A misspelt field ("readOnly", "grups") must be an error, not
// a silent default that gives the container more than was asked for.
import { ContainerError, quote } from '../errors';

/** The value of an own property, never one inherited through a polluted prototype. */
export function own(o: object, key: string): unknown {
  return Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined;
}

/** Throws `code` naming the first key of `o` outside `known`. */
export function onlyKnownKeys(o: object, known: readonly string[], what: string, code: string): void {
  const unknown = Object.keys(o).find((k) => !known.includes(k));
  if (unknown !== undefined) {
    throw new ContainerError(code, `${what}: unknown field ${quote(unknown)} (known: ${known.join(', ')})`);
  }
}
