import {
  type CallOutcome,
  classify,
  type FailureReason,
  failureReason,
  Http2ConnectError,
  type OutcomeClass,
  StreamRefusedError,
} from '@clusterip/sdk';
import test from 'ava';

const err = (code: string, name = 'Error') => Object.assign(new Error(code), { code, name });

const rows: ReadonlyArray<[string, CallOutcome, OutcomeClass, FailureReason | undefined]> = [
  ['success', { type: 'success' }, 'success', undefined],
  ['failure', { type: 'failure' }, 'failure', 'other'],
  ['failure with reason', { type: 'failure', reason: 'reset' }, 'failure', 'reset'],
  ['http 200', { type: 'http', status: 200 }, 'success', undefined],
  ['http 404', { type: 'http', status: 404 }, 'success', undefined],
  ['http 429', { type: 'http', status: 429 }, 'success', undefined],
  ['http 500', { type: 'http', status: 500 }, 'failure', 'http-5xx'],
  ['http 503', { type: 'http', status: 503 }, 'failure', 'http-5xx'],
  ['http 599', { type: 'http', status: 599 }, 'failure', 'http-5xx'],
  ['grpc OK', { type: 'grpc', code: 0 }, 'success', undefined],
  ['grpc NOT_FOUND', { type: 'grpc', code: 5 }, 'success', undefined],
  ['grpc CANCELLED', { type: 'grpc', code: 1 }, 'ignore', undefined],
  ['grpc UNAVAILABLE', { type: 'grpc', code: 14 }, 'failure', 'grpc-unavailable'],
  ['grpc DEADLINE_EXCEEDED', { type: 'grpc', code: 4 }, 'failure', 'timeout'],
  ['ECONNREFUSED', { type: 'error', error: err('ECONNREFUSED') }, 'failure', 'connect'],
  ['UND_ERR_CONNECT_TIMEOUT', { type: 'error', error: err('UND_ERR_CONNECT_TIMEOUT') }, 'failure', 'connect'],
  ['ECONNRESET', { type: 'error', error: err('ECONNRESET') }, 'failure', 'reset'],
  ['UND_ERR_SOCKET', { type: 'error', error: err('UND_ERR_SOCKET') }, 'failure', 'reset'],
  ['ETIMEDOUT', { type: 'error', error: err('ETIMEDOUT') }, 'failure', 'timeout'],
  ['unknown error', { type: 'error', error: new Error('boom') }, 'failure', 'other'],
  ['non-error value', { type: 'error', error: 'boom' }, 'failure', 'other'],
  ['AbortError', { type: 'error', error: err('ABORT_ERR', 'AbortError') }, 'ignore', undefined],
  ['UND_ERR_ABORTED', { type: 'error', error: err('UND_ERR_ABORTED') }, 'ignore', undefined],
  ['cancelled', { type: 'cancelled' }, 'ignore', undefined],
  [
    'HTTP/2 connect',
    { type: 'error', error: new Http2ConnectError('10.0.0.1:80', 'other side closed') },
    'failure',
    'connect',
  ],
  [
    'HTTP/2 stream refused',
    { type: 'error', error: new StreamRefusedError('10.0.0.1:80', 'REFUSED_STREAM') },
    'ignore',
    undefined,
  ],
];

for (const [name, outcome, cls, reason] of rows) {
  test(`classify: ${name}`, (t) => {
    t.is(classify(outcome), cls);
    t.is(failureReason(outcome), reason);
  });
}

test('classify: an unknown outcome type is ignored, never thrown on', (t) => {
  t.is(classify({ type: 'mystery' } as unknown as CallOutcome), 'ignore');
});

test('failedBeforeWrite: connect failures, a closed endpoint pool and refused HTTP/2 streams never reached the application; resets may have', async (t) => {
  const { failedBeforeWrite } = await import('@clusterip/sdk/internal/eligibility/classify.js');
  for (const code of [
    'ECONNREFUSED',
    'EHOSTUNREACH',
    'UND_ERR_CONNECT_TIMEOUT',
    'UND_ERR_CLOSED',
    'CLUSTERIP_ERR_STREAM_REFUSED',
    'CLUSTERIP_ERR_HTTP2_CONNECT',
  ]) {
    t.true(failedBeforeWrite(code), code);
  }
  for (const code of ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'ENOTFOUND']) {
    t.false(failedBeforeWrite(code), code);
  }
});
