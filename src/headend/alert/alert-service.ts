// The emergency override in the running daemon: takes the triggers (serial lines and contact,
// POST /api/alert, `headend alert`), keeps the state (alerts.ts) and puts every affected
// channel on the alert source at once (Programme.setAlert: same PIDs, service, continuity) and
// back to its own source (and timetable) when the alert ends. Every trigger and change is
// logged; the metrics read `changes` and `isOn`.
//
// The alert source of the configured message (the card, or headend.alert.source) is kept open
// while an alert is configured, so that an alert needs no ffmpeg start: the switch waits only
// for its next access point. A trigger with its own message gets a card made for it.

import type { AlertSpec } from '../config/types.js';
import type { ChannelHandle as Channel } from '../channel/handle.js';
import type { SourceProvider } from '../channel/types.js';
import type { Logger } from '../log.js';
import { Alerts, type ActiveAlert, type AlertChange, type AlertTrigger } from './alerts.js';
import { SerialAlarm, type SerialBinding } from './serial-alarm.js';

export interface AlertServiceOptions {
  spec: AlertSpec | null;
  hub: SourceProvider;
  log: Logger;
  channels: () => readonly Channel[];
  /** The serial binding (default: @serialport/bindings-cpp, loaded when a port is configured). */
  serialBinding?: () => Promise<SerialBinding>;
}

export interface AlertState {
  configured: boolean;
  on: boolean;
  alerts: (ActiveAlert & { since: string })[];
  /** The channels under an alert now (slugs). */
  channels: string[];
  serial?: { device: string; connected: boolean };
  /** Whether POST /api/alert is on (a token is configured). */
  http: boolean;
}

export class AlertService {
  readonly alerts: Alerts;
  private spec: AlertSpec | null;
  private warm: (() => void) | null = null;
  private warmKey = '';
  private serial: SerialAlarm | null = null;
  private serialSpec = '';

  constructor(private readonly o: AlertServiceOptions) {
    this.spec = o.spec;
    this.alerts = new Alerts(o.spec);
    this.configure(o.spec);
  }

  /** The bearer token of POST /api/alert, undefined: that trigger is off. */
  get token(): string | undefined {
    return this.spec?.token;
  }

  on(zone: string | undefined, message: string | undefined, trigger: AlertTrigger): AlertChange {
    const c = this.alerts.on(zone, message, trigger);
    this.report(c);
    return c;
  }

  off(zone: string | undefined, trigger: AlertTrigger): AlertChange {
    const c = this.alerts.off(zone, trigger);
    this.report(c);
    return c;
  }

  /** A channel that starts (or was rebuilt by a reload) takes the alert it is under. */
  applyTo(ch: Channel): boolean {
    const a = this.alerts.forGroup(ch.config.group);
    ch.programme.setAlert(
      a ? { source: this.alerts.sourceFor(a.message), why: `${a.zone} (${a.trigger})` } : null,
    );
    return a !== null;
  }

  /** A reload's headend.alert (and channel groups): alerts on stay on, re-applied. */
  reconfigure(spec: AlertSpec | null): void {
    this.spec = spec;
    this.alerts.setSpec(spec);
    this.configure(spec);
    for (const ch of this.o.channels()) this.applyTo(ch);
  }

  state(): AlertState {
    const s: AlertState = {
      configured: this.spec !== null,
      on: this.alerts.isOn,
      alerts: this.alerts.list().map((a) => ({ ...a, since: new Date(a.sinceMs).toISOString() })),
      channels: this.o
        .channels()
        .filter((ch) => this.alerts.forGroup(ch.config.group) !== null)
        .map((ch) => ch.config.slug),
      http: this.spec?.token !== undefined,
    };
    if (this.serial && this.spec?.serial)
      s.serial = { device: this.spec.serial.device, connected: this.serial.connected };
    return s;
  }

  async stop(): Promise<void> {
    this.warm?.();
    this.warm = null;
    await this.serial?.stop();
    this.serial = null;
  }

  private report(c: AlertChange): void {
    const fields = {
      zone: c.zone,
      trigger: c.trigger,
      ...(c.message !== undefined ? { message: c.message } : {}),
    };
    if (!c.changed) {
      this.o.log.log('info', c.on ? 'alert-already-on' : 'alert-already-off', fields);
      return;
    }
    let affected = 0;
    for (const ch of this.o.channels()) if (this.applyTo(ch)) affected++;
    this.o.log.log(c.on ? 'warn' : 'info', c.on ? 'alert-on' : 'alert-off', {
      ...fields,
      channels: c.on ? affected : this.o.channels().length - affected,
    });
  }

  /** Keeps the configured alert source open; (re)opens the serial input when its spec changed. */
  private configure(spec: AlertSpec | null): void {
    const source = spec === null ? null : this.alerts.sourceFor(spec.message);
    if ((source?.key ?? '') !== this.warmKey) {
      this.warm?.();
      this.warm = null;
      this.warmKey = source?.key ?? '';
      if (source) {
        // Nobody reads these bytes: the subscription keeps the source running, warm.
        this.warm = this.o.hub.subscribe(source, {
          data: () => undefined,
          restarted: () => undefined,
          failed: (reason, message) =>
            this.o.log.log('warn', 'alert-source-failed', {
              reason,
              ...(message ? { message } : {}),
            }),
        });
      }
    }
    const serialKey = JSON.stringify(spec?.serial ?? null);
    if (serialKey === this.serialSpec) return;
    this.serialSpec = serialKey;
    const old = this.serial;
    this.serial = null;
    void old?.stop();
    const serial = spec?.serial;
    if (!serial) return;
    const load =
      this.o.serialBinding ??
      (async () => (await import('@serialport/bindings-cpp')).autoDetect() as SerialBinding);
    load().then(
      (binding) => {
        if (this.serialSpec !== serialKey) return; // reconfigured meanwhile
        this.serial = new SerialAlarm({
          spec: serial,
          binding,
          log: this.o.log,
          events: {
            on: (zone, trigger) => this.on(zone, undefined, trigger),
            off: (zone, trigger) => this.off(zone, trigger),
          },
        });
        this.serial.start();
      },
      (err: unknown) =>
        this.o.log.log('error', 'alarm-port-error', {
          device: serial.device,
          message: `the serial port library did not load: ${err instanceof Error ? err.message : String(err)}`,
        }),
    );
  }
}
