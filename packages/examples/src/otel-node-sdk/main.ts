// Example (telemetry): a Mesh reporting through the OpenTelemetry Node SDK — one trace per user action with
// the mesh's routing span under it. Consumes KUBECONFIG (or the service account) and TARGET_URL; prints spans.

// First: the SDK starts before anything else is loaded (ES modules run in the order first imported).
import './telemetry.js';
import { Mesh } from '@clusterip/sdk';
import { trace } from '@opentelemetry/api';
import { sdk } from './telemetry.js';

const target = process.env.TARGET_URL ?? 'http://backend-service/';
const requests = Number.parseInt(process.env.REQUESTS ?? '3', 10);

// No telemetry options: the mesh uses the global providers the SDK registered.
const mesh = new Mesh();
const tracer = trace.getTracer('example-app');

try {
  const traceId = await tracer.startActiveSpan('checkout', async (span) => {
    try {
      for (let i = 0; i < requests; i++) {
        const res = await mesh.fetch(target);
        await res.arrayBuffer();
      }
      return span.spanContext().traceId;
    } finally {
      span.end();
    }
  });
  console.log(`trace ${traceId}: ${requests} requests to ${target} under span "checkout"`);
} finally {
  await mesh.close();
  await sdk.shutdown(); // flush: the console exporters print what is left
}
