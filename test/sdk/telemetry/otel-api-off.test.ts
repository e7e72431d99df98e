import { StaticSource } from '@clusterip/resolver/testing';
import { enableTelemetry, Mesh } from '@clusterip/sdk';
import { channels } from '@clusterip/sdk/internal/telemetry/channels.js';
import test from 'ava';

// No SDK registered in this process: the global providers are the API's no-ops.
test.serial('with the API but no SDK registered, nothing per request is subscribed', async (t) => {
  const telemetry = enableTelemetry();
  t.teardown(() => telemetry.close());
  t.false(telemetry.tracing);
  t.false(telemetry.metrics);
  t.false(channels.httpRequest.hasSubscribers);
  t.false(channels.httpAttempt.hasSubscribers);
  t.false(channels.grpcPick.hasSubscribers);
  // Discovery events stay observed (rare) so that an SDK registered later is noticed.
  t.true(channels.meshRoute.hasSubscribers);
  await telemetry.close();
  t.false(channels.meshRoute.hasSubscribers);
});

test.serial(
  'a provider of the wrong shape warns and falls back to the global one; `telemetry` must be a boolean',
  async (t) => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    t.teardown(() => process.off('warning', onWarning));
    const telemetry = enableTelemetry({ tracerProvider: {}, meterProvider: 42 });
    t.teardown(() => telemetry.close());
    t.false(telemetry.tracing);
    await new Promise((resolve) => setImmediate(resolve));
    t.true(warnings.some((m) => m.includes('tracerProvider has no getTracer()')));
    t.true(warnings.some((m) => m.includes('meterProvider has no getMeter()')));
    t.throws(() => new Mesh({ source: new StaticSource(), telemetry: 'yes' as never }), {
      code: 'CLUSTERIP_ERR_INVALID_ARG',
    });
  },
);
