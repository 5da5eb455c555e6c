import { context, propagation, type TextMapSetter } from '@opentelemetry/api';
import { Metadata, type ClientMiddleware } from 'nice-grpc';

const SETTER: TextMapSetter<Metadata> = {
  set: (metadata, key, value) => metadata.set(key, value),
};

/**
 * A client middleware that sends the caller's active OpenTelemetry context as W3C `traceparent` /
 * `tracestate` metadata, so the server's spans (and the task's) join the caller's trace. Without an
 * OpenTelemetry SDK in the calling process the API's propagator is a no-op: nothing is added.
 */
export const propagateTraceContext: ClientMiddleware = async function* propagateTraceContext(call, options) {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (carrier['traceparent'] === undefined) return yield* call.next(call.request, options);
  const metadata = Metadata(options.metadata);
  for (const [key, value] of Object.entries(carrier)) SETTER.set(metadata, key, value);
  return yield* call.next(call.request, { ...options, metadata });
};
