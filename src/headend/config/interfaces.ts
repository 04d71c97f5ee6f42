// Egress interfaces checked against the machine: an output whose interface does not exist (or
// is down, or has no IPv4 address) opens no socket and sends nothing, so a file naming one is
// refused by validate, by run and by every reload, at the line:column where it is written.
// The machine's interfaces come in through a function (os.networkInterfaces() by default) so
// that tests do not depend on the machine they run on.

import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { headendError, type HeadendError } from '../errors.js';
import { DEFAULTS } from './defaults.js';
import type { PathSegment } from './positions.js';
import type { RawChannel, RawHeadend } from './schema.js';
import type { ErrorSink } from './sink.js';
import type { ChannelSpec } from './types.js';
import { didYouMean } from './suggest.js';

/** One address of an interface, as os.networkInterfaces() lists it. */
export interface InterfaceAddress {
  address: string;
  /** 'IPv4' / 'IPv6' (a number, 4 or 6, in some Node versions). */
  family: string | number;
}

/**
 * The machine's interfaces by name. libuv lists only interfaces that are up and running, each
 * with its addresses.
 */
export type InterfaceTable = Readonly<Record<string, readonly InterfaceAddress[] | undefined>>;

/** Gives the machine's interfaces (injected; default os.networkInterfaces). */
export type InterfaceLookup = () => InterfaceTable;

export const machineInterfaces: InterfaceLookup = () => networkInterfaces();

const isV4 = (a: InterfaceAddress): boolean => a.family === 'IPv4' || a.family === 4;

/**
 * The IPv4 address an output egress setting (an interface name or an IPv4 address) stands for
 * on this machine, or why it does not: a name must exist with an IPv4 address, an address must
 * be one of the machine's. 0.0.0.0 means "let the kernel choose by route" and is kept.
 */
export function localIPv4(iface: string, table: InterfaceTable): string | HeadendError {
  if (iface === '0.0.0.0') return iface;
  const v4 = Object.entries(table).flatMap(([name, list]) =>
    (list ?? []).filter(isV4).map((a) => ({ name, address: a.address })),
  );
  const have =
    v4.length === 0
      ? 'this machine has no interface with an IPv4 address up'
      : `interfaces with an IPv4 address: ${v4.map((a) => `${a.name} ${a.address}`).join(', ')}`;
  if (isIPv4(iface)) {
    if (v4.some((a) => a.address === iface)) return iface;
    return headendError('E_NO_INTERFACE', `${iface} is not an address of this machine (${have})`);
  }
  const own = v4.find((a) => a.name === iface);
  if (own !== undefined) return own.address;
  const exists = table[iface] !== undefined;
  const why = exists
    ? `interface '${iface}' has no IPv4 address`
    : `no interface '${iface}' on this machine (or it is down)` +
      didYouMean(
        iface,
        v4.map((a) => a.name),
      );
  return headendError('E_NO_INTERFACE', `${why} (${have})`);
}

export interface InterfaceUses {
  headend: RawHeadend | undefined;
  /** headend.defaults as kept (valid keys only). */
  defaults: RawChannel;
  channels: readonly { spec: ChannelSpec; index: number; raw: RawChannel }[];
}

/**
 * Checks every egress setting where it is written: headend.interface, headend.defaults.interface,
 * each channel's interface, each source-specific output's sender address (the socket binds to
 * it), and the built-in default when a channel falls back on it.
 */
export function checkInterfaces(
  uses: InterfaceUses,
  lookup: InterfaceLookup,
  sink: ErrorSink,
): void {
  let table: InterfaceTable;
  try {
    table = lookup();
  } catch (err) {
    sink.addAt(1, 1, `cannot list this machine's interfaces: ${(err as Error).message}`);
    return;
  }
  const check = (value: string, path: PathSegment[], what = ''): void => {
    const r = localIPv4(value, table);
    if (typeof r !== 'string') sink.add(path, `${what}${r.message}`);
  };
  const headendIface = uses.headend?.interface;
  if (headendIface !== undefined) check(headendIface, ['headend', 'interface']);
  if (uses.defaults.interface !== undefined) {
    check(uses.defaults.interface, ['headend', 'defaults', 'interface']);
  }
  for (const { spec, index, raw } of uses.channels) {
    if (raw.interface !== undefined) check(raw.interface, ['channels', index, 'interface']);
    else if (uses.defaults.interface === undefined && headendIface === undefined) {
      check(
        DEFAULTS.interface,
        ['channels', index],
        `the default interface ${DEFAULTS.interface}: `,
      );
    }
    const sender = spec.output.source;
    if (sender !== undefined) {
      check(sender, ['channels', index, 'output'], `the sender address ${sender} (source@group): `);
    }
  }
}
