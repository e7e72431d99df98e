// Benchmark helper process: one backend "pod" of the HTTP benchmarks. Consumes `<host> [port]` in argv;
// produces an HTTP/1.1 keep-alive server answering `ok` with an `x-pod: <host>` header, and one
// `@@bench {"port":N}` line on stdout once it listens. It exits when its stdin closes (the parent ended).

import { createServer } from 'node:http';
import { sendToParent } from './bench-child.js';

const host = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? 0);
const headers = { 'content-type': 'text/plain', 'content-length': 2, 'x-pod': host };
const server = createServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
  res.writeHead(200, headers);
  res.end('ok');
});
server.listen(port, host, () => sendToParent({ port: (server.address() as { port: number }).port }));
// The parent holds our stdin open: when it ends (parent exited, killed or done), so do we.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
