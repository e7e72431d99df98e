// Example (testing): the code under test — a checkout that prices a cart by calling the `inventory` Service
// through a Mesh. Consumes cart lines and a Mesh; produces a quote or a CheckoutError with a stable code.

import { isClusterIPError, type Mesh } from '@clusterip/sdk';

/** One line of a cart. */
export interface CartLine {
  readonly sku: string;
  readonly quantity: number;
}

/** A priced cart (prices in cents). */
export interface Quote {
  readonly lines: readonly { readonly sku: string; readonly quantity: number; readonly unitPrice: number }[];
  readonly total: number;
}

/** Why a cart could not be priced. */
export type CheckoutErrorCode = 'UNKNOWN_SKU' | 'OUT_OF_STOCK' | 'INVENTORY_UNAVAILABLE';

/**
 * A checkout failure the caller can act on (`code`), with the inventory's own error as `cause`.
 *
 * @example
 * ```ts
 * try { await quoteCart(mesh, lines) } catch (e) { if (e instanceof CheckoutError && e.code === 'OUT_OF_STOCK') … }
 * ```
 */
export class CheckoutError extends Error {
  readonly code: CheckoutErrorCode;
  constructor(code: CheckoutErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckoutError';
    this.code = code;
  }
}

/**
 * Price `lines` with the inventory Service (`GET http://inventory/items/<sku>` → `{ price, stock }`).
 * The Mesh routes each call to one of the Service's ready pods and retries connect failures on another.
 *
 * @example
 * ```ts
 * const quote = await quoteCart(new Mesh(), [{ sku: 'apple', quantity: 3 }])
 * console.log(quote.total)
 * ```
 */
export async function quoteCart(
  mesh: Pick<Mesh, 'fetch'>,
  lines: readonly CartLine[],
  inventoryUrl = 'http://inventory',
): Promise<Quote> {
  const priced: Quote['lines'][number][] = [];
  for (const { sku, quantity } of lines) {
    let res: Awaited<ReturnType<Mesh['fetch']>>;
    try {
      res = await mesh.fetch(`${inventoryUrl}/items/${encodeURIComponent(sku)}`);
    } catch (error) {
      // fetch reports network failures as a TypeError; the mesh's typed error is its cause, e.g.
      // CLUSTERIP_ERR_NO_ENDPOINTS when the Service has no ready pod.
      const cause = (error as { cause?: unknown }).cause;
      const code = isClusterIPError(cause) ? cause.code : 'network error';
      throw new CheckoutError('INVENTORY_UNAVAILABLE', `checkout: inventory unavailable: ${code}`, { cause });
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new CheckoutError('UNKNOWN_SKU', `checkout: unknown sku ${JSON.stringify(sku)}`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new CheckoutError('INVENTORY_UNAVAILABLE', `checkout: inventory answered ${res.status} for ${sku}`);
    }
    const item = (await res.json()) as { price: number; stock: number };
    if (item.stock < quantity) {
      throw new CheckoutError('OUT_OF_STOCK', `checkout: ${sku}: ${quantity} wanted, ${item.stock} in stock`);
    }
    priced.push({ sku, quantity, unitPrice: item.price });
  }
  return { lines: priced, total: priced.reduce((sum, l) => sum + l.quantity * l.unitPrice, 0) };
}
