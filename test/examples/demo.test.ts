import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';

const run = promisify(execFile);
// build/test/examples/ → packages/examples/dist/demo/main.js
const demo = fileURLToPath(new URL('../../../packages/examples/dist/demo/main.js', import.meta.url));

test('the demo runs non-interactively and shows resolution, watch propagation and balancing', async (t) => {
  const { stdout } = await run(process.execPath, [demo, '--once'], { timeout: 30_000 });
  t.regex(stdout, /backend-service:http\s+→ backend-service\.shop\.svc\.cluster\.local\./);
  t.regex(stdout, /database\.data:pg\s+→ database\.data\.svc\.cluster\.local\.\s+\(2 candidate/);
  t.regex(stdout, /nope:80\s+→ service "nope:80": not found/);
  t.regex(stdout, /scaled up: .*backend-4=127\.0\.0\.14:\d+ \(ready\)/);
  t.regex(stdout, /draining: .*backend-1=127\.0\.0\.11:\d+ \(terminating\)/);
  t.regex(stdout, /eligibility: ok; 3 eligible of 4/);
  // The terminating pod gets nothing while others are ready; the three ready pods share 60 requests.
  t.notRegex(stdout, /^\s+backend-1\s+█/m);
  for (const pod of ['backend-2', 'backend-3', 'backend-4']) t.regex(stdout, new RegExp(`^\\s+${pod}\\s+█+ 20$`, 'm'));
  t.regex(stdout, /60 requests served/);
});
