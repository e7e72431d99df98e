// Benchmark: endpoint propagation — from an EndpointSlice change (or a DNS zone edit) to the first request
// the new pod serves / the last one the removed pod serves. Entry point only: grpc-js reads
// GRPC_NODE_USE_ALTERNATIVE_RESOLVER when it loads, and without it its `dns:` resolver ignores the server
// named in the target (getaddrinfo), so the variable is set before anything imports grpc-js.
// Run: node --conditions=clusterip-internal build/test/bench/propagation.bench.js [--quick]

process.env.GRPC_NODE_USE_ALTERNATIVE_RESOLVER = 'true';
await import('./propagation-scenario.js');
