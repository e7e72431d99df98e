// Test helper: a self-signed TLS certificate for a loopback server, made with the openssl CLI.
// Consumes the ava context; produces PEM key and certificate (also as files), removed in t.teardown.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';

/** A certificate that is its own CA: give `cert` to the server, and to the client as its CA. */
export interface SelfSignedCert {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** The same PEM data as files, in a scratch folder deleted after the test. */
  readonly keyFile: string;
  readonly certFile: string;
}

/**
 * Create a P-256 self-signed certificate valid for one day, with `subjectAltName=IP:<ip>`
 * (default `127.0.0.1`) and `DNS:<name>` for each of `dnsNames`, so clients verify it against the URL
 * `https://<ip>:<port>` or `https://<name>:<port>`.
 *
 * @example
 * ```ts
 * const { key, cert } = await createSelfSignedCert(t)
 * const api = await createFakeKubeApi(t, { tls: { key, cert } })
 * ```
 */
export async function createSelfSignedCert(
  t: ExecutionContext,
  ip = '127.0.0.1',
  dnsNames: readonly string[] = [],
): Promise<SelfSignedCert> {
  const scratch = await mkdtemp(join(tmpdir(), 'clusterip-tls-'));
  t.teardown(() => rm(scratch, { recursive: true, force: true }));
  const keyFile = join(scratch, 'key.pem');
  const certFile = join(scratch, 'cert.pem');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '1',
    '-subj',
    `/CN=${ip}`,
    '-addext',
    `subjectAltName=${[`IP:${ip}`, ...dnsNames.map((n) => `DNS:${n}`)].join(',')}`,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  const [key, cert] = await Promise.all([readFile(keyFile), readFile(certFile)]);
  return { key, cert, keyFile, certFile };
}
