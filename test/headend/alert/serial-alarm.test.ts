// The serial alarm input against @serialport/binding-mock (no hardware here): the line protocol
// with and without a zone, garbage ignored, a port missing at start logged by name and opened
// once it appears, a port that goes away reopened when it returns (the alarm state kept), and
// a modem-status line read as a dry contact (asserted = on, released = off; inverted too).
import t, { type Test } from 'tap';
import { MockBinding } from '@serialport/binding-mock';
import { SerialAlarm, type SerialBinding } from '../../../src/headend/alert/serial-alarm.js';
import { serialSpec } from '../../../src/headend/config/alert.js';
import { logger, type Line } from '../../helpers/log-lines.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function rig(t: Test, device: string, extra: Partial<Parameters<typeof serialSpec>[0]> = {}) {
  const lines: Line[] = [];
  const events: string[] = [];
  const alarm = new SerialAlarm({
    spec: serialSpec({ device, ...extra }),
    binding: MockBinding as unknown as SerialBinding,
    log: logger(lines),
    events: {
      on: (zone, trigger) => void events.push(`on ${zone ?? '*'} ${trigger}`),
      off: (zone, trigger) => void events.push(`off ${zone ?? '*'} ${trigger}`),
    },
    reopenMs: 50,
    pollMs: 20,
  });
  t.teardown(() => alarm.stop());
  return { alarm, lines, events };
}

/** The open mock port of `alarm` (its binding), to feed bytes or fake the modem lines. */
function portOf(alarm: SerialAlarm): {
  emitData(d: string): void;
  get: () => Promise<unknown>;
  close(): Promise<void>;
} {
  const p = (alarm as unknown as { port: { port: unknown } | null }).port;
  if (!p?.port) throw new Error('not open');
  return p.port as ReturnType<typeof portOf>;
}

t.beforeEach(() => MockBinding.reset());

t.test('the line protocol', async (t) => {
  MockBinding.createPort('/dev/ttyPANEL', { echo: false, record: false });
  const { alarm, events, lines } = rig(t, '/dev/ttyPANEL');
  alarm.start();
  await until('open', () => alarm.connected);
  const port = portOf(alarm);
  port.emitData('ALARM ON east-wing\r\nnoise \x00\x01 here\nALARM OFF east-wing\n');
  port.emitData('ALAR');
  port.emitData('M ON\nALARM OFF\n');
  await until('4 events', () => events.length === 4);
  t.same(events, ['on east-wing serial', 'off east-wing serial', 'on * serial', 'off * serial']);
  t.ok(
    lines.some((l) => l.event === 'alarm-line-ignored'),
    'garbage is ignored (debug)',
  );
  t.ok(lines.some((l) => l.event === 'alarm-port-open' && l.fields.baud === 9600));
});

t.test('configured patterns', async (t) => {
  MockBinding.createPort('/dev/ttyP2', { echo: false, record: false });
  const { alarm, events } = rig(t, '/dev/ttyP2', { on: '^FIRE (\\w+)$', off: '^CLEAR$' });
  alarm.start();
  await until('open', () => alarm.connected);
  portOf(alarm).emitData('ALARM ON\nFIRE B2\nCLEAR\n');
  await until('2 events', () => events.length === 2);
  t.same(events, ['on B2 serial', 'off * serial']);
});

t.test('missing at start, then present; gone, then back', async (t) => {
  const { alarm, events, lines } = rig(t, '/dev/ttyUSB7');
  alarm.start();
  await until('the error', () => lines.some((l) => l.event === 'alarm-port-error'));
  const err = lines.find((l) => l.event === 'alarm-port-error')!;
  t.match(err.fields.message, /\/dev\/ttyUSB7/, 'the error names the device');
  await sleep(200);
  t.equal(lines.filter((l) => l.event === 'alarm-port-error').length, 1, 'logged once while away');
  MockBinding.createPort('/dev/ttyUSB7', { echo: false, record: false });
  await until('open', () => alarm.connected);
  portOf(alarm).emitData('ALARM ON\n');
  await until('on', () => events.length === 1);
  // Unplugged: the port closes under us.
  await portOf(alarm).close();
  (alarm as unknown as { port: { emit(e: string): void } }).port.emit('close');
  await until('lost', () => lines.some((l) => l.event === 'alarm-port-lost'));
  t.equal(alarm.connected, false);
  await until('reopened', () => alarm.connected, 3000);
  portOf(alarm).emitData('ALARM OFF\n');
  await until('off', () => events.length === 2);
  t.same(events, ['on * serial', 'off * serial'], 'the alarm was kept while the port was away');
});

t.test('a dry contact on DCD (and inverted on CTS)', async (t) => {
  MockBinding.createPort('/dev/ttyC', { echo: false, record: false });
  const { alarm, events } = rig(t, '/dev/ttyC', { contact: 'dcd' });
  alarm.start();
  await until('open', () => alarm.connected);
  const port = portOf(alarm);
  let dcd = false;
  port.get = async () => ({ cts: false, dsr: false, dcd });
  await sleep(100);
  t.same(events, [], 'released at start: nothing');
  dcd = true;
  await until('on', () => events.length === 1);
  dcd = false;
  await until('off', () => events.length === 2);
  t.same(events, ['on * contact', 'off * contact']);

  MockBinding.createPort('/dev/ttyD', { echo: false, record: false });
  const inv = rig(t, '/dev/ttyD', { contact: 'cts', contact_inverted: true });
  inv.alarm.start();
  await until('open', () => inv.alarm.connected);
  let cts = true;
  portOf(inv.alarm).get = async () => ({ cts, dsr: false, dcd: false });
  await sleep(100);
  t.same(inv.events, [], 'closed (normal) at start: nothing');
  cts = false;
  await until('on', () => inv.events.length === 1);
  t.same(inv.events, ['on * contact'], 'a normally closed contact opening is the alarm');
});
