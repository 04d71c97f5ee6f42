// The strict exposition-format parser the metrics tests rely on: it accepts a well-formed text
// and rejects each kind of malformation it claims to catch.
import t from 'tap';
import { parsePromText } from '../../helpers/prom-text.js';

const GOOD = `# HELP a_total Things "done"\\n here.
# TYPE a_total counter
a_total{x="a\\"b\\\\c\\nd"} 3
a_total{x="e"} 1e3
# HELP h Latency.
# TYPE h histogram
h_bucket{le="0.1"} 1
h_bucket{le="+Inf"} 2
h_sum 0.3
h_count 2
# TYPE g gauge
g Nan
`;

t.test('accepts a well-formed exposition', async (t) => {
  const f = parsePromText(GOOD);
  t.equal(f.get('a_total')!.help, 'Things "done"\n here.');
  t.equal(f.get('a_total')!.type, 'counter');
  t.same(f.get('a_total')!.samples[0], { name: 'a_total', labels: { x: 'a"b\\c\nd' }, value: 3 });
  t.equal(f.get('a_total')!.samples[1]!.value, 1000);
  t.equal(f.get('h')!.samples.length, 4);
  t.ok(Number.isNaN(f.get('g')!.samples[0]!.value));
});

const BAD: [string, string, RegExp][] = [
  ['no final newline', GOOD.slice(0, -1), /newline/],
  ['bad value', GOOD.replace('1e3', '1e'), /bad value/],
  ['bad escape', GOOD.replace('\\\\c', '\\c'), /bad escape/],
  ['bad label name', GOOD.replace('x="e"', '1x="e"'), /bad label|bad sample/],
  ['duplicate series', GOOD.replace('x="e"', 'x="a\\"b\\\\c\\nd"'), /duplicate/],
  ['TYPE twice', GOOD.replace('# TYPE g gauge', '# TYPE g gauge\n# TYPE g gauge'), /TYPE twice/],
  ['split family', GOOD + 'a_total{x="z"} 1\n', /not grouped/],
  [
    'non-cumulative buckets',
    GOOD.replace('h_bucket{le="+Inf"} 2', 'h_bucket{le="+Inf"} 0'),
    /cumulative/,
  ],
  ['+Inf != count', GOOD.replace('h_count 2', 'h_count 5'), /\+Inf bucket/],
  ['no +Inf bucket', GOOD.replace('h_bucket{le="+Inf"} 2\n', ''), /\+Inf/],
  ['bucket without le', GOOD.replace('h_bucket{le="0.1"}', 'h_bucket'), /without le/],
];

t.test('rejects malformed expositions', async (t) => {
  for (const [what, text, err] of BAD) t.throws(() => parsePromText(text), err, what);
});
