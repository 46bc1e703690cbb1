import { isAlias, isCollection, isMap, isNode, isScalar, LineCounter, parseDocument, visit, type Node } from 'yaml';
import { ConfigError, oneLine } from '../errors.js';

/**
 * Reads config text as YAML into plain values, refusing what a config never needs and a hostile
 * or broken file could use against the reader. Every refusal is a `ConfigError` whose one line
 * starts with the file name (and line, when there is one).
 *
 * The limits exist because the `yaml` library, fine with any real config, is not bounded on
 * its own: it returns an alias as a *shared reference*, so a "billion laughs" document is small
 * in memory but exponential for anything that walks it (the schema, `JSON.stringify`); an alias
 * inside the node it names is a cycle that makes those walks throw or never end; each alias is
 * resolved by scanning every anchor and alias before it (quadratic: 50,000 aliases take
 * ~100 s); and its own guard (`maxAliasCount`, 100 uses per anchor) throws an untyped error
 * that names no file.
 */

/** A config of thousands of jobs is well under this; a larger file is a mistake, not a config. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
/** Aliases are resolved in quadratic time (see above); `defaults:` is the way to share fields among many jobs. */
export const MAX_ALIASES = 1000;
/** Values after expanding every alias: what the schema walks. Thousands of jobs stay far below. */
export const MAX_EXPANDED_VALUES = 1_000_000;
/** The schema nests six levels deep; YAML past this is not a config (and deep enough nesting overflows the stack). */
export const MAX_DEPTH = 64;

/** Parses `text` (YAML, or JSON: YAML's subset); `origin` names it in errors. */
export function readYaml(text: string, origin: string): unknown {
  if (Buffer.byteLength(text) > MAX_CONFIG_BYTES) throw configError(`${origin}: the file is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB, too large for a config`);
  const lines = new LineCounter();
  const at = (offset: number | undefined) => {
    const line = offset === undefined ? 0 : lines.linePos(offset).line;
    return `${origin}${line ? `:${line}` : ''}`;
  };
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    throw configError(`${at(first.pos[0])}: ${describeParseError(first.message)}`);
  }
  checkAliases(document, at);
  let value: unknown;
  try {
    // The checks above and below bound what the library's own alias guard protects against,
    // without its fixed 100-uses-per-anchor limit (a config may name one schedule 500 times).
    value = document.toJS({ maxAliasCount: -1 });
  } catch (error) {
    throw configError(`${origin}: ${describeParseError((error as Error).message)}`, { cause: error });
  }
  checkExpandedSize(value, origin);
  return value;
}

type Where = (offset: number | undefined) => string;

/** Messages quote keys and anchors from the file: one line, control characters escaped. */
function configError(message: string, options?: { cause?: unknown }): ConfigError {
  return new ConfigError(oneLine(message), options);
}

/** Every alias names an anchor before it, never one of its own ancestors; no collection is a key; few aliases. */
function checkAliases(document: ReturnType<typeof parseDocument>, at: Where): void {
  const anchors = new Map<string, Node>();
  let aliases = 0;
  visit(document, {
    Node(_key, node, path) {
      if (isAlias(node)) {
        aliases += 1;
        const where = at(node.range?.[0]);
        if (aliases > MAX_ALIASES) throw configError(`${where}: more than ${MAX_ALIASES} YAML aliases; share fields among jobs with the environment's defaults: instead`);
        const target = anchors.get(node.source);
        if (!target) throw configError(`${where}: alias *${node.source} names no anchor &${node.source} above it`);
        if (path.includes(target)) throw configError(`${where}: alias *${node.source} is inside the node &${node.source} it refers to, a circular reference`);
        return;
      }
      if (isNode(node) && node.anchor) anchors.set(node.anchor, node);
    },
    Pair(_key, pair) {
      // A key that is a collection, or a scalar tagged into an object (`!!binary`, a YAML 1.1
      // timestamp), is not a name: the library would stringify it, with a warning on stderr.
      const key = isAlias(pair.key) ? anchors.get(pair.key.source) : pair.key;
      const where = at((pair.key as Node | null)?.range?.[0]);
      if (isCollection(key)) throw configError(`${where}: a mapping key must be a plain value, not a ${isMap(key) ? 'mapping' : 'list'}`);
      if (isScalar(key) && typeof key.value === 'object' && key.value !== null) throw configError(`${where}: a mapping key must be a plain value, not a ${key.tag ?? 'tagged value'}`);
    },
  });
}

/**
 * Counts values as the schema will see them, aliases expanded (a shared node counts once per
 * place it appears, memoized so counting stays linear), and refuses cycles and deep nesting
 * that merge keys (`<<`) or the library could still produce.
 */
function checkExpandedSize(root: unknown, origin: string): void {
  const sizes = new Map<object, number>();
  const open = new Set<object>();
  const sizeOf = (value: unknown, depth: number, path: readonly string[]): number => {
    if (value === null || typeof value !== 'object') return 1;
    const known = sizes.get(value);
    if (known !== undefined) return known;
    const field = path.length > 0 ? `: ${path.join('.')}` : '';
    if (open.has(value)) throw configError(`${origin}${field}: a YAML alias makes this value contain itself, a circular reference`);
    if (depth > MAX_DEPTH) throw configError(`${origin}${field}: nested deeper than ${MAX_DEPTH} levels`);
    open.add(value);
    let size = 1;
    for (const [key, child] of entries(value)) {
      size += sizeOf(child, depth + 1, [...path.slice(0, MAX_DEPTH), key]);
      if (size > MAX_EXPANDED_VALUES) throw configError(`${origin}: its YAML aliases expand to more than ${MAX_EXPANDED_VALUES.toLocaleString('en')} values (a "billion laughs" document?)`);
    }
    open.delete(value);
    sizes.set(value, size);
    return size;
  };
  sizeOf(root, 0, []);
}

function entries(value: object): [string, unknown][] {
  if (value instanceof Map) return [...value.entries()].map(([key, child]) => [String(key), child]);
  if (value instanceof Set) return [...value].map((child, index) => [String(index), child]);
  if (ArrayBuffer.isView(value)) return [];
  return Object.entries(value);
}

/** The library's messages, on one line; a stack overflow in its parser means nesting, say so. */
function describeParseError(message: string): string {
  if (/Maximum call stack size exceeded/.test(message)) return `nested too deeply to read (more than ${MAX_DEPTH} levels is not a config)`;
  return message.split('\n')[0]!;
}
