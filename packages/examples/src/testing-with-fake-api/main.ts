// Example (testing): the checkout as a program — the same quoteCart() the tests exercise, against a real
// cluster. Consumes KUBECONFIG (or the service account) and cart lines `sku:quantity` as arguments; prints a quote.

import { Mesh } from '@clusterip/sdk';
import { CheckoutError, quoteCart } from './checkout.js';

const lines = process.argv.slice(2).map((arg) => {
  const [sku = '', quantity = '1'] = arg.split(':');
  return { sku, quantity: Number.parseInt(quantity, 10) };
});

const mesh = new Mesh();
try {
  const quote = await quoteCart(mesh, lines);
  for (const l of quote.lines) console.log(`${l.quantity} × ${l.sku} at ${l.unitPrice}`);
  console.log(`total ${quote.total}`);
} catch (error) {
  if (!(error instanceof CheckoutError)) throw error;
  console.log(`${error.code}: ${error.message}`);
  process.exitCode = 1;
} finally {
  await mesh.close();
}
