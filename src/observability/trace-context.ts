/** The names of the W3C trace-context headers (https://www.w3.org/TR/trace-context/), as Kafka headers carry them. */
export const TRACE_CONTEXT_HEADERS = ['traceparent', 'tracestate'] as const;
