import { context, propagation, ROOT_CONTEXT, type Context, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';

/**
 * W3C trace context as Task Scheduler keeps it on a record: `traceparent`, and `\n` + `tracestate` when
 * there is one (`\n` cannot occur in either header's value). Converted with the globally registered
 * propagator (W3C trace context, registered by the tracing set-up in `cli/`; without it, nothing).
 */

interface Carrier {
  traceparent?: string;
  tracestate?: string;
}

const SETTER: TextMapSetter<Carrier> = {
  set(carrier, key, value) {
    if (key === 'traceparent') carrier.traceparent = value;
    else if (key === 'tracestate') carrier.tracestate = value;
  },
};

const GETTER: TextMapGetter<Carrier> = {
  keys: () => ['traceparent', 'tracestate'],
  get: (carrier, key) => (key === 'traceparent' ? carrier.traceparent : key === 'tracestate' ? carrier.tracestate : undefined),
};

/** The stored form of a context's span (undefined when it has none). */
export function traceOf(ctx: Context = context.active()): string | undefined {
  const carrier: Carrier = {};
  propagation.inject(ctx, carrier, SETTER);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate ? `${carrier.traceparent}\n${carrier.tracestate}` : carrier.traceparent;
}

/** The context a stored trace string stands for (the root context when there is none). */
export function contextOf(trace: string | undefined): Context {
  if (!trace) return ROOT_CONTEXT;
  const cut = trace.indexOf('\n');
  const carrier: Carrier = cut < 0 ? { traceparent: trace } : { traceparent: trace.slice(0, cut), tracestate: trace.slice(cut + 1) };
  return propagation.extract(ROOT_CONTEXT, carrier, GETTER);
}

/** The trace id of a stored trace string (for log lines), or undefined. */
export function traceIdOf(trace: string | undefined): string | undefined {
  // traceparent: version "-" trace-id (32 hex) "-" parent-id "-" flags
  return trace && trace.length >= 35 ? trace.slice(3, 35) : undefined;
}
