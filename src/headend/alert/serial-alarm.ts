// A fire panel on a serial port: lines such as `ALARM ON east-wing` / `ALARM OFF` (patterns from
// the config, group 1 = the zone) and, optionally, a modem-status line (CTS, DSR or DCD) read as
// a dry contact from the panel's relay, polled every CONTACT_POLL_MS (asserted = alarm on in
// every zone; `contact_inverted` for a normally closed contact).
//
// The port is opened with @serialport/stream over a binding (@serialport/bindings-cpp for real
// ports, @serialport/binding-mock in tests). A port missing at start, or one that disappears
// (a USB adapter unplugged: the read fails and the port closes), is logged naming the device
// and opened again every REOPEN_MS until it is back; the channels stream meanwhile. What the
// panel said stays in force while the port is away: only the panel turns an alarm off.

import { SerialPortStream } from '@serialport/stream';
import { ReadlineParser } from '@serialport/parser-readline';
import type { SerialAlarmSpec } from '../config/alert.js';
import type { Logger } from '../log.js';

/** Wait between attempts to open the port. */
export const REOPEN_MS = 1000;
/** Period of the modem-status poll. */
export const CONTACT_POLL_MS = 200;
/** A line longer than this is cut (a panel speaking garbage does not grow memory). */
const MAX_LINE = 256;

/** A serialport binding: @serialport/bindings-cpp's autoDetect(), or MockBinding in tests. */
export type SerialBinding = ConstructorParameters<typeof SerialPortStream>[0]['binding'];

export interface SerialAlarmEvents {
  on(zone: string | undefined, trigger: 'serial' | 'contact'): void;
  off(zone: string | undefined, trigger: 'serial' | 'contact'): void;
}

export interface SerialAlarmOptions {
  spec: SerialAlarmSpec;
  binding: SerialBinding;
  log: Logger;
  events: SerialAlarmEvents;
  reopenMs?: number;
  pollMs?: number;
}

export class SerialAlarm {
  private port: SerialPortStream | null = null;
  private reopen: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The last open failure logged (a port that stays away is logged once, not every second). */
  private lastFailure = '';
  private contact: boolean | null = null;
  private readonly onRe: RegExp;
  private readonly offRe: RegExp;
  /** Open now (for status). */
  connected = false;

  constructor(private readonly o: SerialAlarmOptions) {
    this.onRe = new RegExp(o.spec.on);
    this.offRe = new RegExp(o.spec.off);
  }

  start(): void {
    this.open();
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.reopen) clearTimeout(this.reopen);
    if (this.poll) clearInterval(this.poll);
    const port = this.port;
    this.port = null;
    if (!port?.isOpen) return Promise.resolve();
    return new Promise((resolve) => port.close(() => resolve()));
  }

  /** One line from the panel (also for tests): on, off, or ignored. */
  line(text: string): void {
    const s = text.replace(/\r$/, '').trim();
    if (s === '') return;
    const on = this.onRe.exec(s);
    const off = on ? null : this.offRe.exec(s);
    const { log, spec } = this.o;
    if (on) {
      log.log('warn', 'alarm-line', { device: spec.device, line: s, state: 'on' });
      this.o.events.on(on[1] || undefined, 'serial');
    } else if (off) {
      log.log('info', 'alarm-line', { device: spec.device, line: s, state: 'off' });
      this.o.events.off(off[1] || undefined, 'serial');
    } else {
      log.log('debug', 'alarm-line-ignored', { device: spec.device, line: s.slice(0, 80) });
    }
  }

  private open(): void {
    if (this.stopped) return;
    const { spec, binding, log } = this.o;
    const port = new SerialPortStream({
      binding,
      path: spec.device,
      baudRate: spec.baud,
      autoOpen: false,
    });
    this.port = port;
    port.open((err) => {
      if (this.stopped) {
        if (!err) port.close();
        return;
      }
      if (err) {
        const why = openProblem(spec.device, err);
        if (why !== this.lastFailure) {
          log.log('error', 'alarm-port-error', { device: spec.device, message: why });
          this.lastFailure = why;
        }
        this.port = null;
        this.retry();
        return;
      }
      this.lastFailure = '';
      this.connected = true;
      log.log('info', 'alarm-port-open', { device: spec.device, baud: spec.baud });
      const lines = port.pipe(new ReadlineParser({ delimiter: '\n', encoding: 'latin1' }));
      lines.on('data', (l: string) => this.line(l.length > MAX_LINE ? l.slice(0, MAX_LINE) : l));
      if (spec.contact) this.startPoll(port);
    });
    port.on('error', (err: Error) => {
      log.log('warn', 'alarm-port-error', { device: spec.device, message: err.message });
    });
    port.on('close', () => {
      if (this.port !== port || !this.connected) return;
      this.connected = false;
      this.port = null;
      if (this.poll) clearInterval(this.poll);
      this.poll = null;
      if (this.stopped) return;
      log.log('error', 'alarm-port-lost', {
        device: spec.device,
        message: `${spec.device} went away; opening it again every ${this.o.reopenMs ?? REOPEN_MS} ms`,
      });
      this.retry();
    });
  }

  private retry(): void {
    if (this.stopped) return;
    this.reopen = setTimeout(() => this.open(), this.o.reopenMs ?? REOPEN_MS);
    this.reopen.unref();
  }

  private startPoll(port: SerialPortStream): void {
    const { spec, log } = this.o;
    const line = spec.contact!;
    let failing = false;
    this.poll = setInterval(() => {
      port.get((err, status) => {
        if (err || !status) {
          if (!failing)
            log.log('error', 'alarm-contact-error', {
              device: spec.device,
              message: `cannot read ${line.toUpperCase()} of ${spec.device}: ${err?.message ?? 'no status'}`,
            });
          failing = true;
          return;
        }
        failing = false;
        const asserted = status[line] === true;
        const alarm = spec.contactInverted ? !asserted : asserted;
        if (alarm === this.contact) return;
        // The first reading sets the state without an event unless it is an alarm.
        const first = this.contact === null;
        this.contact = alarm;
        if (first && !alarm) return;
        log.log(alarm ? 'warn' : 'info', 'alarm-contact', {
          device: spec.device,
          line,
          state: alarm ? 'on' : 'off',
        });
        if (alarm) this.o.events.on(undefined, 'contact');
        else this.o.events.off(undefined, 'contact');
      });
    }, this.o.pollMs ?? CONTACT_POLL_MS);
    this.poll.unref();
  }
}

/** Why a port did not open, with the fix where there is one. */
function openProblem(device: string, err: Error): string {
  const m = err.message;
  if (/ENOENT|No such file/i.test(m))
    return `${device} does not exist (is the adapter plugged in? the alarm input waits for it)`;
  if (/EACCES|Permission denied/i.test(m))
    return `permission denied on ${device}: add the headend's user to the dialout group`;
  if (/EBUSY|Resource busy|lock/i.test(m)) return `${device} is busy: another program holds it`;
  return `cannot open ${device}: ${m}`;
}
