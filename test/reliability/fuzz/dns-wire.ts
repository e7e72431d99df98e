// Reliability (fuzzing): DNS answers built from fuzzed record lists (and byte mutations of them), served over
// real UDP on loopback. Consumes a per-query answer plan; produces wire-format responses to node:dns (c-ares).

import { createSocket } from 'node:dgram';
import type { ExecutionContext } from 'ava';
import { parseDnsQuestion } from '../../helpers/udp-dns-server.js';

/** One resource record of a fuzzed answer. `name: '@'` is the question name (written as a compression pointer). */
export type FuzzRecord =
  | { readonly type: 'A'; readonly name: string; readonly ttl: number; readonly address: readonly number[] }
  | { readonly type: 'AAAA'; readonly name: string; readonly ttl: number; readonly address: readonly number[] }
  | { readonly type: 'CNAME'; readonly name: string; readonly ttl: number; readonly target: string }
  | {
      readonly type: 'SRV';
      readonly name: string;
      readonly ttl: number;
      readonly priority: number;
      readonly weight: number;
      readonly port: number;
      readonly target: string;
    }
  | { readonly type: 'SOA'; readonly name: string; readonly ttl: number; readonly minimum: number }
  | {
      readonly type: 'RAW';
      readonly name: string;
      readonly ttl: number;
      readonly rrtype: number;
      readonly data: Uint8Array;
    };

/** How to answer one query. */
export interface FuzzAnswer {
  /** 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, anything else. */
  readonly rcode: number;
  /** Set the TC bit (c-ares then retries over TCP, where nothing listens). */
  readonly truncated: boolean;
  readonly answers: readonly FuzzRecord[];
  readonly authority: readonly FuzzRecord[];
  /** Byte edits applied to the encoded message: [offset, value]. */
  readonly edits: readonly (readonly [number, number])[];
  /** Cut the encoded message to this many bytes (undefined: whole). */
  readonly truncateTo: number | undefined;
  /** Do not answer (the query times out). */
  readonly drop: boolean;
}

const TYPE_CODES = { A: 1, CNAME: 5, SOA: 6, AAAA: 28, SRV: 33 } as const;

function encodeName(name: string, questionOffset: number | undefined): Buffer {
  if (name === '@' && questionOffset !== undefined)
    return Buffer.from([0xc0 | (questionOffset >> 8), questionOffset & 0xff]);
  const parts: Buffer[] = [];
  for (const label of name.replace(/\.$/, '').split('.')) {
    if (label === '') continue;
    // Lengths over 63 are written as they are (masked to one byte): a malformed name on purpose.
    const bytes = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([bytes.length & 0xff]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function rdata(r: FuzzRecord): Buffer {
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return Buffer.from(r.address.map((b) => b & 0xff));
    case 'CNAME':
      return encodeName(r.target, 12);
    case 'SRV': {
      const head = Buffer.alloc(6);
      head.writeUInt16BE(r.priority & 0xffff, 0);
      head.writeUInt16BE(r.weight & 0xffff, 2);
      head.writeUInt16BE(r.port & 0xffff, 4);
      return Buffer.concat([head, encodeName(r.target, 12)]);
    }
    case 'SOA': {
      const tail = Buffer.alloc(20);
      for (let i = 0; i < 4; i++) tail.writeUInt32BE(i + 1, i * 4);
      tail.writeUInt32BE(r.minimum >>> 0, 16);
      return Buffer.concat([encodeName('ns.example', undefined), encodeName('admin.example', undefined), tail]);
    }
    case 'RAW':
      return Buffer.from(r.data);
  }
}

function record(r: FuzzRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(r.type === 'RAW' ? r.rrtype & 0xffff : TYPE_CODES[r.type], 0);
  fixed.writeUInt16BE(1, 2); // IN
  fixed.writeUInt32BE(r.ttl >>> 0, 4);
  const data = rdata(r);
  fixed.writeUInt16BE(data.length & 0xffff, 8);
  return Buffer.concat([encodeName(r.name, 12), fixed, data]);
}

/** The question section of `query` (name and type/class), and where it ends. */
function questionOf(query: Buffer): Buffer {
  let i = 12;
  while (i < query.length && query[i] !== 0) i += (query[i] as number) + 1;
  return query.subarray(12, Math.min(query.length, i + 5));
}

/** Encode the response to `query` under `answer`. */
export function encodeResponse(query: Buffer, answer: FuzzAnswer): Buffer {
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  const rd = (query[2] as number) & 0x01;
  header[2] = 0x80 | 0x04 | (answer.truncated ? 0x02 : 0) | rd; // QR, AA, TC, RD
  header[3] = 0x80 | (answer.rcode & 0x0f); // RA, rcode
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answer.answers.length, 6);
  header.writeUInt16BE(answer.authority.length, 8);
  header.writeUInt16BE(0, 10);
  let message = Buffer.concat([
    header,
    questionOf(query),
    ...answer.answers.map(record),
    ...answer.authority.map(record),
  ]);
  for (const [offset, value] of answer.edits) {
    // Never the id: a wrong id is a dropped answer, already covered by `drop`.
    if (message.length > 2) message[2 + (offset % (message.length - 2))] = value & 0xff;
  }
  if (answer.truncateTo !== undefined) message = message.subarray(0, Math.min(message.length, answer.truncateTo));
  return message;
}

/** A query as the fuzz server saw it. */
export interface FuzzQuery {
  readonly name: string;
  readonly type: number;
}

function parseQuestion(msg: Buffer): FuzzQuery {
  const { name, qtype } = parseDnsQuestion(msg);
  return { name, type: qtype };
}

/** A running fuzz DNS server. */
export interface FuzzDnsServer {
  /** `127.0.0.1:<port>` */
  readonly server: string;
  /** How to answer; replaced per fuzz input. */
  plan: (query: FuzzQuery) => FuzzAnswer;
  /** Queries answered (or dropped) so far. */
  readonly count: { queries: number };
}

/**
 * Start a UDP DNS server on 127.0.0.1, port 0, answering each query with `plan(query)`; closed by `t.teardown`.
 *
 * @example
 * ```ts
 * const dns = await startFuzzDnsServer(t)
 * dns.plan = () => ({ rcode: 2, truncated: false, answers: [], authority: [], edits: [], truncateTo: undefined, drop: false })
 * ```
 */
export async function startFuzzDnsServer(t: ExecutionContext): Promise<FuzzDnsServer> {
  const socket = createSocket('udp4');
  const state: FuzzDnsServer = {
    server: '',
    plan: () => ({
      rcode: 3,
      truncated: false,
      answers: [],
      authority: [],
      edits: [],
      truncateTo: undefined,
      drop: false,
    }),
    count: { queries: 0 },
  };
  socket.on('message', (msg, peer) => {
    if (msg.length < 12) return;
    state.count.queries++;
    const answer = state.plan(parseQuestion(msg));
    if (answer.drop) return;
    socket.send(encodeResponse(msg, answer), peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  Object.assign(state, { server: `127.0.0.1:${socket.address().port}` });
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return state;
}

/** Stable small hash of a query, to pick its answer from a plan deterministically. */
export function queryHash(q: FuzzQuery): number {
  let h = q.type * 31;
  for (let i = 0; i < q.name.length; i++) h = (h * 33 + q.name.charCodeAt(i)) >>> 0;
  return h;
}
