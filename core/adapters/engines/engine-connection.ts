import { inspect } from 'node:util';
import type { DescribedConnection } from '../../ports/engine-descriptor.js';

/**
 * A source or restore target as its engine parsed it, once: the engine reads `parts` (which may
 * hold a password from a resolved secret); everything else sees only `shown` (host, port,
 * database or path, never credentials). The parts live in a private field, so `JSON.stringify`,
 * `util.inspect`, template strings and structured logs all print the safe form.
 *
 * @example const source = engine.parse(url); await engine.describe(source); `${source}` // 'db.internal:5432/shop'
 */
// `Id extends string`, not `EngineId`: engine ids derive from the descriptors, whose `parse`
// returns this class, so naming them here would make the types circular.
export class ParsedConnection<Id extends string, Parts> implements DescribedConnection {
  readonly #parts: Parts;
  readonly #shown: string;

  constructor(
    readonly engine: Id,
    parts: Parts,
    shown: string,
  ) {
    this.#parts = parts;
    this.#shown = shown;
  }

  /** What the engine parsed, credentials included: for the engine's own use, never to print. */
  get parts(): Parts {
    return this.#parts;
  }

  describe(): string {
    return this.#shown;
  }

  toString(): string {
    return this.#shown;
  }

  toJSON(): string {
    return this.#shown;
  }

  [inspect.custom](): string {
    return `${this.engine} connection ${this.#shown}`;
  }
}
