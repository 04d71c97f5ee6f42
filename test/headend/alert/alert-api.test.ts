// POST /api/alert's access and body rules, without a server: no token configured = off (404);
// no or a malformed Authorization = 401 with WWW-Authenticate; a wrong token = 403; a malformed
// body = 400 naming the field; a good request turns the alert on or off with the trigger given.
import t from 'tap';
import type { IncomingMessage } from 'node:http';
import { postAlert, tokenMatches, type AlertApi } from '../../../src/headend/http/alert-api.js';
import { Alerts } from '../../../src/headend/alert/alerts.js';

function api(token: string | undefined): AlertApi & { calls: string[] } {
  const alerts = new Alerts({ message: 'm', zones: {} });
  const calls: string[] = [];
  return {
    calls,
    token: () => token,
    state: () => ({
      configured: true,
      on: alerts.isOn,
      alerts: alerts.list().map((a) => ({ ...a, since: '' })),
      channels: [],
      http: token !== undefined,
    }),
    on: (zone, message, trigger) => {
      calls.push(`on ${zone ?? '*'} ${message ?? '-'} ${trigger}`);
      return alerts.on(zone, message, trigger);
    },
    off: (zone, trigger) => {
      calls.push(`off ${zone ?? '*'} ${trigger}`);
      return alerts.off(zone, trigger);
    },
  };
}

const req = (authorization?: string): IncomingMessage =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;
const body = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

t.test('access: off, 401, 403', async (t) => {
  t.match(postAlert(api(undefined), req('Bearer x'), body({ state: 'on' })), {
    status: 404,
    body: { error: 'alert-off', message: /headend\.alert\.token/ },
  });
  const a = api('s3cret');
  for (const h of [undefined, 'Basic czNjcmV0', 'Bearer', 'bearer a b']) {
    const r = postAlert(a, req(h), body({ state: 'on' }));
    t.equal(r.status, 401, `Authorization: ${h ?? '(none)'}`);
    t.match(r.headers, { 'www-authenticate': /^Bearer realm="headend"/ });
  }
  for (const wrong of ['s3cre', 's3cret2', 'S3CRET', 'x'.repeat(1000)]) {
    t.equal(
      postAlert(a, req(`Bearer ${wrong}`), body({ state: 'on' })).status,
      403,
      wrong.slice(0, 12),
    );
  }
  t.same(a.calls, [], 'nothing refused reached the alert');
  t.ok(tokenMatches('abc', 'abc'));
  t.notOk(tokenMatches('abc', 'abd'));
  t.notOk(tokenMatches('', 'abc'));
});

t.test('bodies', async (t) => {
  const a = api('s3cret');
  const post = (v: unknown) => postAlert(a, req('Bearer s3cret'), body(v));
  const bad: [unknown, RegExp][] = [
    ['{', /not JSON/],
    [[1], /JSON object/],
    [{ state: 'maybe' }, /state must be "on" or "off"/],
    [{ state: 'on', zone: 'a b' }, /zone must be/],
    [{ state: 'on', zone: 7 }, /zone must be/],
    [{ state: 'on', message: '' }, /message is for "on"/],
    [{ state: 'on', message: 'x'.repeat(201) }, /1-200/],
    [{ state: 'on', message: 'two\nlines' }, /one line/],
    [{ state: 'off', message: 'x' }, /message is for "on"/],
    [{ state: 'on', color: 'red' }, /unknown field color/],
    [{ state: 'on', via: 'serial' }, /via must be/],
  ];
  for (const [v, why] of bad) {
    const r = post(v);
    t.equal(r.status, 400, JSON.stringify(v).slice(0, 40));
    t.match((r.body as { message: string }).message, why);
  }
  t.same(a.calls, []);
  t.match(post({ state: 'on', zone: 'east-wing', message: ' Drill ' }), {
    status: 200,
    body: { changed: true, on: true },
  });
  t.match(post({ state: 'on', zone: 'east-wing', message: 'Drill' }), {
    status: 200,
    body: { changed: false },
  });
  t.match(post({ state: 'off', via: 'cli' }), { status: 200, body: { changed: true, on: false } });
  t.same(a.calls, ['on east-wing Drill http', 'on east-wing Drill http', 'off * cli']);
});
