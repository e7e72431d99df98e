// The reliability suite's ava configuration (`npm run test:reliability`): load and fault scenarios under
// test/reliability/, kept out of the main run (package.json "ava" excludes that folder).
//
// - One file at a time, each in its own child process (workerThreads: false): the load scenarios measure
//   what a 2-core machine achieves, so two of them must not share it, and `--expose-gc` (used by the
//   hygiene tests) is a V8 flag that worker threads refuse.
// - The timeout is ava's inactivity timer (reset by every test result), sized for the longest scenario.

export default {
  files: ['test/reliability/**/*.test.ts', '!test/reliability/helpers/**'],
  typescript: {
    rewritePaths: { 'test/': 'build/test/' },
    compile: false,
  },
  nodeArguments: ['--conditions=clusterip-internal', '--expose-gc'],
  workerThreads: false,
  concurrency: 1,
  timeout: '120s',
};
