// Test helper: a tiny misbehaving DNS server on UDP loopback (forward, SERVFAIL, garbage, silence).
// Consumes a per-query policy; produces a server address and a log of the queries it saw.

import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { ExecutionContext } from 'ava';

/** What to do with one query. */
export type UdpDnsReply = 'forward' | 'servfail' | 'garbage' | 'drop';

/** A query as the server saw it. */
export interface SeenQuery {
  readonly name: string;
  /** `A`, `AAAA`, `SRV`, `CNAME`, `SOA` or the number. */
  readonly type: string;
}

/** Options of {@link startUdpDnsServer}. */
export interface UdpDnsServerOptions {
  /** `host:port` to forward to (required for `forward`). */
  readonly upstream?: string;
  /** Fixed reply or a decision per query. Can be changed later through `server.reply`. */
  readonly reply: UdpDnsReply | ((query: SeenQuery) => UdpDnsReply);
}

/** A running server from {@link startUdpDnsServer}. */
export interface UdpDnsServer {
  readonly server: string;
  readonly queries: SeenQuery[];
  reply: UdpDnsReply | ((query: SeenQuery) => UdpDnsReply);
}

const TYPES: Record<number, string> = { 1: 'A', 5: 'CNAME', 6: 'SOA', 28: 'AAAA', 33: 'SRV' };

/**
 * The first question of a DNS query message: its name (lowercased, no trailing dot) and numeric QTYPE
 * (0 when the message ends before it). Lenient: a malformed message gives what could be read.
 *
 * @example
 * ```ts
 * socket.on('message', (msg) => console.log(parseDnsQuestion(msg))) // { name: 'web.shop.svc', qtype: 1 }
 * ```
 */
export function parseDnsQuestion(msg: Buffer): { name: string; qtype: number } {
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i] as number;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += len + 1;
  }
  return { name: labels.join('.').toLowerCase(), qtype: msg.length >= i + 3 ? msg.readUInt16BE(i + 1) : 0 };
}

function parseQuestion(msg: Buffer): SeenQuery {
  const { name, qtype } = parseDnsQuestion(msg);
  return { name, type: TYPES[qtype] ?? String(qtype) };
}

/**
 * Start a UDP DNS server on 127.0.0.1 (port 0) that forwards, answers SERVFAIL, answers garbage
 * (random bytes, shorter than a DNS header) or never answers, per query. Closed by `t.teardown`.
 *
 * @example
 * ```ts
 * const bad = await startUdpDnsServer(t, { reply: 'servfail' })
 * new DnsSource({ servers: [bad.server] })
 * ```
 */
export async function startUdpDnsServer(t: ExecutionContext, options: UdpDnsServerOptions): Promise<UdpDnsServer> {
  const socket = createSocket('udp4');
  const upstreams = new Set<ReturnType<typeof createSocket>>();
  const state: UdpDnsServer = { server: '', queries: [], reply: options.reply };
  socket.on('message', (msg, peer) => {
    if (msg.length < 12) return;
    const query = parseQuestion(msg);
    state.queries.push(query);
    const reply = typeof state.reply === 'function' ? state.reply(query) : state.reply;
    switch (reply) {
      case 'drop':
        return;
      case 'garbage':
        socket.send(randomBytes(7), peer.port, peer.address);
        return;
      case 'servfail': {
        const out = Buffer.from(msg);
        out[2] = 0x80 | ((msg[2] as number) & 0x79); // QR, same opcode and RD
        out[3] = 0x82; // RA, rcode 2 (SERVFAIL)
        socket.send(out, peer.port, peer.address);
        return;
      }
      case 'forward': {
        const [host, port] = (options.upstream ?? '').split(/:(?=\d+$)/);
        if (host === undefined || port === undefined) return;
        const up = createSocket('udp4');
        upstreams.add(up);
        const done = () => {
          upstreams.delete(up);
          up.close();
        };
        const timer = setTimeout(done, 2000);
        timer.unref();
        up.once('message', (answer) => {
          clearTimeout(timer);
          socket.send(answer, peer.port, peer.address);
          done();
        });
        up.send(msg, Number(port), host);
        return;
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  Object.assign(state, { server: `127.0.0.1:${socket.address().port}` });
  t.teardown(async () => {
    for (const up of upstreams) up.close();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  });
  return state;
}
