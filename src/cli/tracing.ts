import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/** OpenTelemetry tracing as the CLI sets it up: on, and flushed at exit. */
export interface Tracing {
  /** The active span's ids (for log lines), or undefined outside any span. */
  activeSpan(): { traceId: string; spanId: string } | undefined;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

/**
 * Whether tracing is asked for: `--otlp-endpoint`, or the standard `OTEL_EXPORTER_OTLP_ENDPOINT` /
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` variables — unless `OTEL_SDK_DISABLED=true` or
 * `OTEL_TRACES_EXPORTER=none`.
 */
export function tracingWanted(endpointFlag: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['OTEL_SDK_DISABLED']?.toLowerCase() === 'true' || env['OTEL_TRACES_EXPORTER']?.toLowerCase() === 'none') return false;
  return endpointFlag !== '' || !!env['OTEL_EXPORTER_OTLP_ENDPOINT'] || !!env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
}

/**
 * Registers the OpenTelemetry SDK globally (tracer provider, AsyncLocalStorage context, W3C trace
 * context propagation) with an OTLP/HTTP exporter behind a batch processor. The standard variables
 * apply: `OTEL_EXPORTER_OTLP_ENDPOINT` (or `--otlp-endpoint`, the collector's base URL: spans go to
 * `<url>/v1/traces`), `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME` (default `task-scheduler`),
 * `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` (default: parent-based,
 * always on), `OTEL_BSP_*` for batching.
 */
export function startTracing(endpointFlag: string, version: string): Tracing {
  const exporter = new OTLPTraceExporter(endpointFlag ? { url: `${endpointFlag.replace(/\/+$/, '')}/v1/traces` } : {});
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'task-scheduler', [ATTR_SERVICE_VERSION]: version }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(exporter)] });
  provider.register();
  return {
    activeSpan() {
      const span = trace.getActiveSpan();
      if (!span) return undefined;
      const { traceId, spanId } = span.spanContext();
      return { traceId, spanId };
    },
    shutdown: () => provider.shutdown(),
  };
}
