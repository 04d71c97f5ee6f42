// The TOT's country (headend/si/country.ts): ISO 3166-1 alpha-2 → alpha-3, and a zone's country
// from a zone.tab in the tz database's format.
import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alpha3Of, countryOfZone, isAlpha3 } from '../../../src/headend/si/country.js';

t.test('alpha-3 codes', async (t) => {
  t.equal(alpha3Of('DE'), 'DEU');
  t.equal(alpha3Of('gb'), 'GBR');
  t.equal(alpha3Of('XK'), undefined, 'not officially assigned');
  t.ok(isAlpha3('USA'));
  t.notOk(isAlpha3('usa'), 'upper case only (the config upper-cases)');
  t.notOk(isAlpha3('XYZ'));
});

t.test("a zone's country from zone.tab", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zonetab-'));
  const tab = join(dir, 'zone.tab');
  writeFileSync(
    tab,
    '# comment\nAT\t+4813+01620\tEurope/Vienna\nUS\t+404251-0740023\tAmerica/New_York\tEastern (most areas)\n',
  );
  t.equal(countryOfZone('Europe/Vienna', tab), 'AUT');
  t.equal(countryOfZone('America/New_York', tab), 'USA');
  t.equal(countryOfZone('UTC', tab), undefined);
  t.equal(countryOfZone('Europe/Vienna', join(dir, 'missing.tab')), undefined, 'no tzdata');
});
