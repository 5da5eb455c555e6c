import { context, createContextKey, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { traceOf } from './trace-context';
import { ServerError, Status, type CallContext } from 'nice-grpc';

type UnaryMethod = (request: unknown, context: CallContext) => Promise<unknown>;

/** Set in a served call's context when the caller sent a trace context of its own. */
const CALLER_TRACED = createContextKey('taskscheduler.caller-traced');

/**
 * The trace context of the call being served (its server span) and whether the caller sent one —
 * without it, a dependent task joins its dependencies' trace instead of the call's new one.
 */
export function callTrace(): { trace: string | undefined; fromCaller: boolean } {
  const active = context.active();
  return { trace: traceOf(active), fromCaller: active.getValue(CALLER_TRACED) === true };
}

const METADATA: TextMapGetter<CallContext['metadata']> = {
  keys: (metadata) => [...metadata].map(([key]) => key),
  get: (metadata, key) => {
    const value = metadata.get(key);
    return typeof value === 'string' ? value : undefined;
  },
};

/**
 * Wraps each method of a unary service implementation in a server span (`<service>/<Method>`, kind
 * SERVER, `rpc.*` attributes of the OpenTelemetry conventions), child of the caller's W3C trace
 * context from the call's metadata (`traceparent`, `tracestate`); the method runs with that span
 * active, so the engine can keep it on the task's record. Installed only when tracing is on (a plain
 * wrapper, like `mapErrors`: no middleware on the hot path). Nothing of the metadata but the trace
 * headers is read — never the authorization value.
 */
export function traceCalls<T extends object>(servicePath: string, implementation: T, tracer: Tracer = trace.getTracer('task-scheduler')): T {
  const wrapped: Record<string, UnaryMethod> = {};
  for (const [name, method] of Object.entries(implementation as Record<string, UnaryMethod>)) {
    const rpcMethod = `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    // A stream (WatchTasks) is passed through untraced: its tasks' spans come from their submission.
    if (method.constructor.name === 'AsyncGeneratorFunction') {
      wrapped[name] = method.bind(implementation);
      continue;
    }
    const call = method.bind(implementation);
    wrapped[name] = async (request, callContext) => {
      const parent = propagation.extract(ROOT_CONTEXT, callContext.metadata, METADATA);
      const span = tracer.startSpan(
        `${servicePath}/${rpcMethod}`,
        { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc', 'rpc.service': servicePath, 'rpc.method': rpcMethod } },
        parent,
      );
      try {
        const fromCaller = trace.getSpanContext(parent) !== undefined;
        const response = await context.with(trace.setSpan(parent, span).setValue(CALLER_TRACED, fromCaller), () => call(request, callContext));
        span.setAttribute('rpc.grpc.status_code', Status.OK);
        return response;
      } catch (err) {
        const code = err instanceof ServerError ? err.code : Status.UNKNOWN;
        span.setAttribute('rpc.grpc.status_code', code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: Status[code] });
        throw err;
      } finally {
        span.end();
      }
    };
  }
  return wrapped as unknown as T;
}
