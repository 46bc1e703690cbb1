/**
 * Tracing a run's phases (issue 16): the use cases say where a phase starts and ends, an adapter
 * (OpenTelemetry, `core/adapters/telemetry/`) decides what that becomes. The use cases never see
 * an SDK, and with tracing off they get {@link noTracing}: one function call per phase, nothing
 * per chunk.
 */

/** Span attributes: OTel semantic conventions where one exists (`db.system`, `server.address`), `vaultra.*` otherwise. Never a credential. */
export type TraceAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** The phase a callback runs in: what it learns on the way is added to it. */
export interface TraceSpan {
  setAttributes(attributes: TraceAttributes): void;
  /** A moment inside the phase (a retried request, a destination that finished). */
  addEvent(name: string, attributes?: TraceAttributes): void;
  /**
   * Marks the phase failed without throwing (a run whose failure is its result, not an
   * exception). The tracer writes only the error's redacted one-line message and its class name.
   */
  fail(error: unknown): void;
}

export interface RunTracer {
  /**
   * Runs `fn` as the phase `name`, a child of the phase that is running (or of the trace the
   * process was started in). The phase ends when `fn` settles; a rejection marks it failed and
   * is rethrown unchanged, so tracing never alters what a run does.
   */
  span<T>(name: string, attributes: TraceAttributes, fn: (span: TraceSpan) => Promise<T>): Promise<T>;
}

const NO_SPAN: TraceSpan = {
  setAttributes: () => undefined,
  addEvent: () => undefined,
  fail: () => undefined,
};

/** Tracing off: each phase is just its callback. */
export const noTracing: RunTracer = {
  span: (_name, _attributes, fn) => fn(NO_SPAN),
};
