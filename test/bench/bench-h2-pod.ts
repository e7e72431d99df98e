// Benchmark helper process: one HTTP/2 (h2c) "pod" of the h2-pool benchmark. Consumes `<host>` in argv;
// produces an h2c server that reads each request body and answers `ok`, and one IPC message `{ port }`
// once it listens. It exits when the parent disconnects.

import { createServer } from 'node:http2';

const host = process.argv[2] ?? '127.0.0.1';
const server = createServer();
server.on('stream', (stream) => {
  stream.on('error', () => {});
  stream.resume();
  stream.on('end', () => {
    if (stream.closed) return;
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': 2 });
    stream.end('ok');
  });
});
server.listen(0, host, () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('disconnect', () => process.exit(0));
