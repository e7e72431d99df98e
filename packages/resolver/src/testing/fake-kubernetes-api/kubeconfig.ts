// Fake Kubernetes API: kubeconfig text pointing kubectl (or a client) at the fake server.
// Consumes the server URL and credentials; produces a kubeconfig document (YAML or JSON).

/** Options of {@link FakeKubernetesApi.kubeconfig}. */
export interface KubeconfigOptions {
  /** Default namespace of the context (default `default`). */
  readonly namespace?: string;
  /** Bearer token to put in the user entry; defaults to the server's configured token, if any. */
  readonly token?: string;
  /** Name used for the cluster, user and context entries (default `fake`). */
  readonly name?: string;
  /** `yaml` (default) or `json`. */
  readonly format?: 'yaml' | 'json';
}

/** Build the kubeconfig document. Strings are written as JSON strings, which YAML reads unchanged. */
export function buildKubeconfig(
  server: string,
  token: string | undefined,
  options: KubeconfigOptions = {},
  caPem?: string,
): string {
  const name = options.name ?? 'fake';
  const namespace = options.namespace ?? 'default';
  const user = token === undefined ? {} : { token };
  const ca = caPem === undefined ? undefined : Buffer.from(caPem).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server, ...(ca === undefined ? {} : { 'certificate-authority-data': ca }) } }],
    users: [{ name, user }],
    contexts: [{ name, context: { cluster: name, user: name, namespace } }],
    'current-context': name,
    preferences: {},
  };
  if (options.format === 'json') return `${JSON.stringify(config, null, 2)}\n`;
  const q = (s: string) => JSON.stringify(s);
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${q(name)}`,
    '  cluster:',
    `    server: ${q(server)}`,
    ...(ca === undefined ? [] : [`    certificate-authority-data: ${q(ca)}`]),
    'users:',
    `- name: ${q(name)}`,
    token === undefined ? '  user: {}' : `  user:\n    token: ${q(token)}`,
    'contexts:',
    `- name: ${q(name)}`,
    '  context:',
    `    cluster: ${q(name)}`,
    `    user: ${q(name)}`,
    `    namespace: ${q(namespace)}`,
    `current-context: ${q(name)}`,
    'preferences: {}',
    '',
  ].join('\n');
}
