import { serviceConfig } from '@clusterip/sdk/grpc';
import { policyConfig } from '@clusterip/sdk/internal/transport/grpc/grpc-service-config.js';
import test from 'ava';

test('serviceConfig() selects the clusterip policy and leaves unset options to the mesh (else the defaults)', (t) => {
  t.deepEqual(JSON.parse(serviceConfig()), { loadBalancingConfig: [{ clusterip: {} }] });
  t.deepEqual(JSON.parse(serviceConfig({ policy: 'random' })), {
    loadBalancingConfig: [{ clusterip: { policy: 'random' } }],
  });
});

test('serviceConfig() carries balancer, affinity, outlier detection, retry, throttling and wait-for-ready', (t) => {
  const config = JSON.parse(
    serviceConfig({
      policy: 'least-request',
      sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 },
      affinityKey: { metadata: 'X-User' },
      outlierDetection: { consecutiveFailures: 3 },
      retry: { maxAttempts: 4, initialBackoffMs: 20, maxBackoffMs: 500, retryableStatusCodes: ['unavailable', 4] },
      retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
      waitForReady: true,
    }),
  );
  t.deepEqual(config, {
    loadBalancingConfig: [
      {
        clusterip: {
          policy: 'least-request',
          sessionAffinity: { type: 'ClientIP', timeoutSeconds: 600 },
          affinityKey: { metadata: 'x-user' },
          outlierDetection: { consecutiveFailures: 3 },
        },
      },
    ],
    methodConfig: [
      {
        name: [{}],
        waitForReady: true,
        retryPolicy: {
          maxAttempts: 4,
          initialBackoff: '0.02s',
          maxBackoff: '0.5s',
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE', 4],
        },
      },
    ],
    retryThrottling: { maxTokens: 10, tokenRatio: 0.1 },
  });
});

const invalid: [string, unknown, string][] = [
  ['unknown key', { polcy: 'random' }, 'polcy'],
  ['unknown policy', { policy: 'fastest' }, 'policy'],
  [
    'affinity timeout out of range',
    { sessionAffinity: { type: 'ClientIP', timeoutSeconds: 0 } },
    'sessionAffinity.timeoutSeconds',
  ],
  [
    'binary metadata key',
    { sessionAffinity: { type: 'ClientIP' }, affinityKey: { metadata: 'x-user-bin' } },
    'affinityKey.metadata',
  ],
  [
    'affinity key without affinity',
    { sessionAffinity: { type: 'None' }, affinityKey: { metadata: 'x-user' } },
    'affinityKey',
  ],
  ['affinity key without source', { affinityKey: {} }, 'affinityKey.metadata'],
  ['retry attempts', { retry: { maxAttempts: 9 } }, 'retry.maxAttempts'],
  ['retry backoff order', { retry: { initialBackoffMs: 500, maxBackoffMs: 100 } }, 'retry.maxBackoffMs'],
  ['retry status', { retry: { retryableStatusCodes: ['SOMETIMES'] } }, 'retry.retryableStatusCodes[0]'],
  ['retry unknown key', { retry: { attempts: 2 } }, 'retry.attempts'],
  ['throttling incomplete', { retryThrottling: { maxTokens: 10 } }, 'retryThrottling.tokenRatio'],
  ['waitForReady type', { waitForReady: 'yes' }, 'waitForReady'],
  ['outlier detection type', { outlierDetection: 'on' }, 'outlierDetection'],
];

for (const [title, options, option] of invalid) {
  test(`serviceConfig() rejects ${title} naming ${option}`, (t) => {
    const error = t.throws(() => serviceConfig(options as never));
    t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
    t.is((error as { option?: string }).option, option);
  });
}

test('the policy config grpc-js hands back is validated with the clusterip. prefix', (t) => {
  const error = t.throws(() => policyConfig({ policy: 'nope' }, 'clusterip'));
  t.is((error as { code?: string }).code, 'CLUSTERIP_ERR_INVALID_ARG');
  t.is((error as { option?: string }).option, 'clusterip.policy');
  t.true(Object.isFrozen(policyConfig({ peakEwma: { decayMs: 5 } }).peakEwma));
});
